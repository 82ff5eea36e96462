"""The service's call to its model worker survives a kept-alive connection reset (seen under sustained load).

The worker is a socket that drops the first connections the moment a request arrives, as a worker
closing a kept-alive connection does; the caller is BentoML's own client for the worker, the one
`bentoml.depends(ModelWorker)` hands the service.
"""

import asyncio
import pickle
from types import SimpleNamespace

import aiohttp
import pytest
from _bentoml_impl.client.proxy2 import AsyncClient

from serving.service import INTERNAL_RETRIES, FramingService, ModelWorker

ANSWER = [{"risk_framing": {"label": "neutral"}}]


async def _dropping_worker(drops: int):
    """A loopback HTTP server that aborts the connection for the first `drops` requests, then answers."""
    requests = []

    async def handle(reader, writer):
        try:
            while True:
                head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
                length = next((int(line.split(":")[1]) for line in head.split("\r\n") if line.lower().startswith("content-length:")), 0)
                await reader.readexactly(length)
                requests.append(head.split(" ", 2)[1])
                if len(requests) <= drops:
                    writer.transport.abort()
                    return
                body = pickle.dumps(ANSWER)
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/vnd.bentoml+pickle\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            return

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    return server, requests


async def _call_through_a_dropping_worker(drops: int):
    server, requests = await _dropping_worker(drops)
    url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    try:
        async with AsyncClient(url, service=ModelWorker, media_type="application/vnd.bentoml+pickle", server_ready_timeout=0) as client:
            service = SimpleNamespace(model=SimpleNamespace(to_async=client))
            return await FramingService.inner._call(service, "predict", ["a passage"]), requests
    finally:
        server.close()


def test_a_reset_connection_is_sent_again():
    answer, requests = asyncio.run(_call_through_a_dropping_worker(drops=INTERNAL_RETRIES))
    assert answer == ANSWER
    assert requests == ["/predict"] * (INTERNAL_RETRIES + 1)


def test_a_connection_that_keeps_failing_is_an_error():
    with pytest.raises(aiohttp.ClientConnectionError):
        asyncio.run(_call_through_a_dropping_worker(drops=INTERNAL_RETRIES + 1))
