"""Concurrent callers share forward passes, inside the service's own process.

One model thread. While a batch runs, the texts of newly arrived requests wait; when it ends, every
request waiting (whole requests, up to `max_batch_size` texts) goes into the next predictor call.
There is no batching window: a lone request runs at once, and under load the batches grow by
themselves, because requests arrive while the previous forward pass runs. The Predictor then sorts
the merged texts by length and cuts them into its own measured batches.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class _Job:
    texts: list[str]
    future: asyncio.Future


class Batcher:
    """Merges the texts of concurrent `predict` calls into shared calls of one `predict(texts) -> list`."""

    def __init__(self, predict: Callable[[list[str]], list], *, max_batch_size: int) -> None:
        if max_batch_size < 1:
            raise ValueError(f"max_batch_size must be at least 1, got {max_batch_size}")
        self._predict = predict
        self.max_batch_size = max_batch_size
        self._jobs: deque[_Job] = deque()
        self._wake: asyncio.Event | None = None
        self._runner: asyncio.Task | None = None
        self.queued_texts = 0
        self.texts_per_second = 0.0  # recent throughput (moving average), for Retry-After estimates
        self.batches = 0

    async def predict(self, texts: list[str]) -> list:
        """The predictions for `texts`, in order, computed in a batch shared with other callers."""
        if not texts:
            return []
        if self._runner is None or self._runner.done():
            self._wake = asyncio.Event()
            self._runner = asyncio.get_running_loop().create_task(self._run(), name="framing-batcher")
        job = _Job(list(texts), asyncio.get_running_loop().create_future())
        self._jobs.append(job)
        self.queued_texts += len(job.texts)
        self._wake.set()
        return await job.future  # cancelled with the request (timeout, client gone): _next_batch skips it

    def seconds_to_clear(self) -> int:
        """About how long the texts now waiting will take, in whole seconds (at least 1)."""
        if self.texts_per_second <= 0:
            return 1
        return max(1, math.ceil(self.queued_texts / self.texts_per_second))

    def _next_batch(self) -> list[_Job]:
        batch: list[_Job] = []
        size = 0
        while self._jobs and (not batch or size + len(self._jobs[0].texts) <= self.max_batch_size):
            job = self._jobs.popleft()
            self.queued_texts -= len(job.texts)
            if job.future.done():  # its caller stopped waiting
                continue
            batch.append(job)
            size += len(job.texts)
        return batch

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while batch := self._next_batch():
                await self._run_batch(batch)

    async def _run_batch(self, batch: list[_Job]) -> None:
        texts = [t for job in batch for t in job.texts]
        started = time.perf_counter()
        try:
            predictions = await asyncio.to_thread(self._predict, texts)
        except Exception as error:
            if len(batch) == 1:
                _settle(batch[0], error=error)
                return
            for job in batch:  # one caller's bad input must not fail its batch-mates: each on its own
                await self._run_batch([job])
            return
        self._measure(len(texts), time.perf_counter() - started)
        start = 0
        for job in batch:
            _settle(job, result=predictions[start:start + len(job.texts)])
            start += len(job.texts)

    def _measure(self, n: int, seconds: float) -> None:
        self.batches += 1
        rate = n / max(seconds, 1e-6)
        self.texts_per_second = rate if self.batches == 1 else 0.8 * self.texts_per_second + 0.2 * rate


def _settle(job: _Job, *, result: list | None = None, error: BaseException | None = None) -> None:
    if job.future.done():
        return
    if error is not None:
        job.future.set_exception(error)
    else:
        job.future.set_result(result)
