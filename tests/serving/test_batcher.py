"""The in-process batcher: concurrent callers share predictor calls, each gets its own answers, one bad caller fails alone."""

import asyncio
import threading
import time

import pytest

from serving.batcher import Batcher


class Recorder:
    """A predictor stand-in that records each call's texts and takes `seconds` per call."""

    def __init__(self, seconds: float = 0.05):
        self.calls: list[list[str]] = []
        self.seconds = seconds
        self.threads: set[int] = set()

    def __call__(self, texts: list[str]) -> list[str]:
        self.calls.append(list(texts))
        self.threads.add(threading.get_ident())
        if any(t == "bad" for t in texts):
            raise ValueError("a bad text")
        time.sleep(self.seconds)
        return [t.upper() for t in texts]


async def _callers(batcher: Batcher, requests: list[list[str]]) -> list:
    return await asyncio.gather(*(batcher.predict(r) for r in requests), return_exceptions=True)


def test_concurrent_callers_share_calls_and_get_their_own_answers_in_order():
    model = Recorder()
    batcher = Batcher(model, max_batch_size=8)
    requests = [[f"r{i}-a", f"r{i}-b"] for i in range(12)]
    answers = asyncio.run(_callers(batcher, requests))
    assert answers == [[t.upper() for t in r] for r in requests]
    # Whole requests merged, at most 8 texts per call.
    assert len(model.calls) < len(requests) and max(len(c) for c in model.calls) <= 8
    assert sorted(t for c in model.calls for t in c) == sorted(t for r in requests for t in r)
    assert threading.get_ident() not in model.threads  # the model runs off the event loop


def test_one_callers_bad_input_fails_only_that_caller():
    model = Recorder()
    answers = asyncio.run(_callers(Batcher(model, max_batch_size=64), [["first"], ["ok-1"], ["bad"], ["ok-2"]]))
    assert answers[0] == ["FIRST"] and answers[1] == ["OK-1"] and answers[3] == ["OK-2"]
    assert isinstance(answers[2], ValueError)


def test_a_caller_that_stopped_waiting_is_not_computed():
    model = Recorder(seconds=0.3)
    batcher = Batcher(model, max_batch_size=64)

    async def run():
        first = asyncio.ensure_future(batcher.predict(["running"]))
        await asyncio.sleep(0.05)  # the first call is running; the next one waits behind it
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(batcher.predict(["gave up"]), 0.05)
        assert await batcher.predict(["later"]) == ["LATER"]
        await first

    asyncio.run(run())
    assert ["gave up"] not in model.calls and all("gave up" not in c for c in model.calls)
