"""Admission and graceful shutdown of the HTTP service.

- Admission: up to `max_requests` requests to the API routes are admitted at once, running or waiting
  for the batcher; one more gets 429 with a Retry-After header (the seconds the queue needs to clear).
- Draining: on SIGTERM or SIGINT the worker stops admitting (503 with Retry-After and
  `Connection: close`, and /readyz answers 503 so a load balancer stops sending), lets the admitted
  requests finish for up to the grace period, and only then lets uvicorn shut down and exit 0.
  A second signal while draining stops at once, as uvicorn does on its own.

Uvicorn on its own would stop listening at the first signal and wait for its connections, but
/readyz would then go unanswered rather than say 503, and requests already queued in the listening
socket (which the BentoML arbiter keeps open) would be reset.
"""

from __future__ import annotations

import asyncio
import logging
import math
import signal
from collections.abc import Callable

from serving.middleware import ASGIApp, Receive, Scope, Send, send_json

logger = logging.getLogger("bentoml.service")
READYZ = "/readyz"


class Traffic:
    """How many requests are admitted, how many may be, and whether the service is draining."""

    def __init__(self, *, max_requests: int, retry_after: Callable[[], int] = lambda: 1) -> None:
        if max_requests < 1:
            raise ValueError(f"max_requests must be at least 1, got {max_requests}")
        self.max_requests = max_requests
        self.retry_after = retry_after
        self.admitted = 0
        self.draining = False
        self.drain_deadline = 0.0

    def seconds_left(self) -> int:
        """Whole seconds until the grace period ends (at least 1): when to try again."""
        loop = asyncio.get_running_loop()
        return max(1, math.ceil(self.drain_deadline - loop.time()))


async def _refuse(send: Send, status: int, message: str, retry_after: int, *, close: bool = False) -> None:
    headers = [(b"retry-after", str(retry_after).encode())] + ([(b"connection", b"close")] if close else [])
    await send_json(send, status, {"error": message}, headers=headers)


class TrafficMiddleware:
    """Counts, admits or refuses requests to `paths`; answers /readyz with 503 once draining."""

    def __init__(self, app: ASGIApp, traffic: Traffic, paths: frozenset[str]) -> None:
        self.app = app
        self.traffic = traffic
        self.paths = paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        traffic = self.traffic
        if scope["type"] != "http" or (scope["path"] not in self.paths and scope["path"] != READYZ):
            await self.app(scope, receive, send)
            return
        if traffic.draining:
            await _refuse(send, 503, "the service is shutting down and takes no new requests; send it again in a moment "
                                     "(to this server once restarted, or to another one)", traffic.seconds_left(), close=True)
            return
        if scope["path"] == READYZ:
            await self.app(scope, receive, send)
            return
        if traffic.admitted >= traffic.max_requests:
            await _refuse(send, 429, f"the service has {traffic.max_requests:,} requests in hand, its limit "
                                     "(FRAMING_MAX_CONCURRENCY); send it again after Retry-After seconds", traffic.retry_after())
            return
        traffic.admitted += 1
        try:
            await self.app(scope, receive, send)
        finally:
            traffic.admitted -= 1


def drain_on_signals(traffic: Traffic, grace_period: float) -> None:
    """Make SIGTERM and SIGINT drain `traffic` before the server's own handler (uvicorn's) stops the worker.

    Call from inside the running event loop, after the server has installed its handlers (a startup hook).
    """
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        stop = signal.getsignal(sig)

        def on_signal(signum, frame, stop=stop) -> None:
            if traffic.draining:  # a second signal: stop now
                _stop_server(stop, signum, frame)
                return
            traffic.draining = True
            traffic.drain_deadline = loop.time() + grace_period
            loop.call_soon_threadsafe(lambda: loop.create_task(_drain(traffic, stop, signum)))

        signal.signal(sig, on_signal)


async def _drain(traffic: Traffic, stop, signum: int) -> None:
    loop = asyncio.get_running_loop()
    logger.info("%s: draining %d admitted request(s), for at most %.0f s", signal.Signals(signum).name, traffic.admitted,
                max(0.0, traffic.drain_deadline - loop.time()))
    while traffic.admitted and loop.time() < traffic.drain_deadline:
        await asyncio.sleep(0.05)
    if traffic.admitted:
        logger.warning("grace period over with %d request(s) unfinished: stopping anyway", traffic.admitted)
    else:
        logger.info("drained: every admitted request answered; stopping")
    _stop_server(stop, signum, None, graceful=True)


def _stop_server(stop, signum: int, frame, *, graceful: bool = False) -> None:
    """Hand over to the server's own signal handler; after a clean drain, ask uvicorn to exit without re-raising."""
    server = getattr(stop, "__self__", None)
    if graceful and hasattr(server, "should_exit"):
        # uvicorn's handler records the signal and raises it again once stopped, so the worker would die
        # of SIGTERM; the drain is done, so set the flag it sets and let the worker exit 0.
        server.should_exit = True
    elif callable(stop):
        stop(signum, frame)
    else:
        signal.signal(signum, signal.SIG_DFL)
        signal.raise_signal(signum)
