"""Micro-batching: concurrent requests' items run through the model together.

While the model runs one batch, requests queue; the next batch takes them all (up to ``max_batch``
items). When batches are being shared (requests arrive together), a batch also waits up to
``max_wait`` seconds for more; a lone client never waits. Batches run in the one model thread
(TensorFlow runs one batch at a time anyway), and each request gets its own items' results back, in
order. With ``max_batch`` 1 every request runs alone.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import Executor
from typing import Any


class MicroBatcher:
    def __init__(self, run_batch: Callable[[list], list], executor: Executor, max_batch: int, max_wait: float):
        self.run_batch, self.executor = run_batch, executor
        self.max_batch, self.max_wait = max_batch, max_wait
        self.queue: asyncio.Queue | None = None
        self.worker: asyncio.Task | None = None
        self.batches_run = 0  # for /metadata and the benchmark: how much grouping happened
        self.items_run = 0

    async def submit(self, items: list) -> list:
        """The results of ``run_batch`` for these items, computed together with other requests' items."""
        if self.worker is None:  # started on the server's own event loop, at the first request
            self.queue = asyncio.Queue()
            self.worker = asyncio.get_running_loop().create_task(self._work())
        future = asyncio.get_running_loop().create_future()
        await self.queue.put((items, future))
        return await future

    async def close(self) -> None:
        if self.worker is not None:
            self.worker.cancel()

    async def _work(self) -> None:
        loop = asyncio.get_running_loop()
        shared = False  # whether the last batch served several requests: requests are arriving together
        while True:
            waiting = [await self.queue.get()]
            count = len(waiting[0][0])
            while count < self.max_batch and not self.queue.empty():  # those that came while the model ran
                waiting.append(self.queue.get_nowait())
                count += len(waiting[-1][0])
            # Wait for more only under concurrency: a lone client would only lose max_wait on every request.
            deadline = loop.time() + (self.max_wait if shared else 0)
            while count < self.max_batch and (left := deadline - loop.time()) > 0:
                try:
                    waiting.append(await asyncio.wait_for(self.queue.get(), left))
                except TimeoutError:
                    break
                count += len(waiting[-1][0])
            shared = len(waiting) > 1
            await self._run(loop, waiting)

    async def _run(self, loop, waiting: list[tuple[list, Any]]) -> None:
        items = [item for request_items, _ in waiting for item in request_items]
        try:
            results = await loop.run_in_executor(self.executor, self.run_batch, items)
        except Exception as error:  # every request of the batch hears of it
            for _, future in waiting:
                if not future.done():
                    future.set_exception(error)
            return
        self.batches_run += 1
        self.items_run += len(items)
        start = 0
        for request_items, future in waiting:
            if not future.done():  # a client that went away leaves a cancelled future
                future.set_result(results[start:start + len(request_items)])
            start += len(request_items)
