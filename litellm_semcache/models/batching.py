"""Micro-batching for the models on the request path: calls that arrive while the model is busy are
coalesced into its next batch, which runs in the model's own worker thread, off the event loop.

A batch of 32 costs a CPU about a quarter per item of 32 single calls; one event loop per process (or
several, e.g. the sync SDK bridge) each get their own queue, all feeding the same worker thread.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Generic, TypeVar

from ..errors import BackendUnavailable

__all__ = ["MicroBatcher"]

_In = TypeVar("_In")
_Out = TypeVar("_Out")


class _LoopQueue(Generic[_In, _Out]):
    """The queue and the task that drains it, for one event loop."""

    def __init__(self, batcher: MicroBatcher[_In, _Out], loop: asyncio.AbstractEventLoop) -> None:
        self.batcher = batcher
        self.loop = loop
        self.queue: asyncio.Queue[tuple[_In, asyncio.Future[_Out]]] = asyncio.Queue()
        self.task = loop.create_task(self._run())

    async def _run(self) -> None:
        batcher = self.batcher
        while True:
            batch = [await self.queue.get()]
            while len(batch) < batcher.max_batch_size and not self.queue.empty():
                batch.append(self.queue.get_nowait())
            live = [(item, future) for item, future in batch if not future.done()]
            if not live:
                continue
            try:
                results = await self.loop.run_in_executor(
                    batcher.executor, batcher.work, [i for i, _ in live]
                )
            except Exception as exc:  # a broken model must fail its callers, not the batcher
                for _, future in live:
                    if not future.done():
                        # The type only: an exception's text may quote the request.
                        future.set_exception(
                            BackendUnavailable(f"{batcher.name} failed: {type(exc).__name__}")
                        )
                continue
            for (_, future), result in zip(live, results, strict=False):
                if not future.done():
                    future.set_result(result)


class MicroBatcher(Generic[_In, _Out]):
    """Runs ``work`` (a blocking batch function) in one worker thread, on batches of concurrent calls."""

    def __init__(
        self, work: Callable[[list[_In]], Sequence[_Out]], *, max_batch_size: int, name: str
    ) -> None:
        self.work = work
        self.max_batch_size = max_batch_size
        self.name = name
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"semcache-{name}")
        self._queues: dict[asyncio.AbstractEventLoop, _LoopQueue[_In, _Out]] = {}

    def _queue(self) -> _LoopQueue[_In, _Out]:
        loop = asyncio.get_running_loop()
        queue = self._queues.get(loop)
        if queue is None or queue.task.done():
            queue = self._queues[loop] = _LoopQueue(self, loop)
            for stale in [lp for lp in self._queues if lp.is_closed()]:
                del self._queues[stale]
        return queue

    async def submit(self, item: _In) -> _Out:
        """The result for one item, computed in the next batch.

        Raises:
            BackendUnavailable: the work failed.
        """
        future: asyncio.Future[_Out] = asyncio.get_running_loop().create_future()
        self._queue().queue.put_nowait((item, future))
        return await future

    async def submit_all(self, items: Sequence[_In]) -> list[_Out]:
        """The results for several items, queued together so they share a batch.

        Raises:
            BackendUnavailable: the work failed.
        """
        loop = asyncio.get_running_loop()
        queue = self._queue()
        futures: list[asyncio.Future[_Out]] = []
        for item in items:
            future: asyncio.Future[_Out] = loop.create_future()
            queue.queue.put_nowait((item, future))
            futures.append(future)
        return list(await asyncio.gather(*futures))

    def close(self) -> None:
        """Stop the queues' tasks and the worker thread."""
        for queue in self._queues.values():
            if not queue.loop.is_closed():
                queue.loop.call_soon_threadsafe(queue.task.cancel)
        self._queues.clear()
        self.executor.shutdown(wait=False, cancel_futures=True)
