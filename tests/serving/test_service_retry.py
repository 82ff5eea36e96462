"""The service's call to its model worker survives a kept-alive connection reset (seen under sustained load)."""

import asyncio
from types import SimpleNamespace

import aiohttp
import pytest

from serving.service import INTERNAL_RETRIES, FramingService


def fake_self(failures: int):
    calls = []

    async def predict(texts):
        calls.append(texts)
        if len(calls) <= failures:
            raise aiohttp.ClientOSError("Can not write request body")
        return ["ok"] * len(texts)

    return SimpleNamespace(model=SimpleNamespace(to_async=SimpleNamespace(predict=predict))), calls


def test_a_reset_connection_is_retried():
    self, calls = fake_self(failures=INTERNAL_RETRIES)
    assert asyncio.run(FramingService.inner._call(self, "predict", ["a"])) == ["ok"]
    assert len(calls) == INTERNAL_RETRIES + 1


def test_a_connection_that_keeps_failing_is_an_error():
    self, calls = fake_self(failures=INTERNAL_RETRIES + 1)
    with pytest.raises(aiohttp.ClientConnectionError):
        asyncio.run(FramingService.inner._call(self, "predict", ["a"]))
    assert len(calls) == INTERNAL_RETRIES + 1
