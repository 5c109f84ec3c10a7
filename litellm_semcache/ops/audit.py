"""Sampled audits of served hits: which hits to audit, and how many audits may run at once.

An audit asks the provider the question a hit answered, after the cached answer was returned, and
compares the two answers (``Pipeline.compare``). It must never delay a response nor pile up behind
traffic: a hit is sampled with probability ``audit_rate``, and audited only when one of
``audit_concurrency`` slots is free (else it is counted as ``skipped_busy``). The work runs as a
background task of the event loop the hit was served on. Re-sending the request is the integration's
job (it knows the framework); this module only decides and keeps count.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable, Coroutine
from typing import Any

__all__ = ["Auditor"]

logger = logging.getLogger("litellm_semcache")


class Auditor:
    """Samples hits for audit and runs audits in the background, at most ``concurrency`` at once."""

    def __init__(self, rate: float, concurrency: int, *, draw: Callable[[], float] = random.random) -> None:
        self.rate = rate
        self.concurrency = concurrency
        self._draw = draw
        self._running: set[asyncio.Task[Any]] = set()

    @property
    def running(self) -> int:
        """Audits in flight in this process."""
        return len(self._running)

    def sample(self) -> bool:
        """Whether this hit is one of the ``rate`` share to audit."""
        return self.rate > 0 and (self.rate >= 1 or self._draw() < self.rate)

    def launch(self, work: Coroutine[Any, Any, Any]) -> bool:
        """Run an audit in the background on the running loop; False (and the work dropped) when every
        slot is taken or there is no running loop."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            work.close()
            return False
        if len(self._running) >= self.concurrency:
            work.close()
            return False
        task = loop.create_task(work)
        self._running.add(task)  # a reference, so the task is not collected mid-flight
        task.add_done_callback(self._done)
        return True

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._running.discard(task)
        if not task.cancelled() and task.exception() is not None:
            # The type only: an exception's text may quote the request.
            logger.warning(
                "litellm-semcache: an audit failed unexpectedly: %s", type(task.exception()).__name__
            )

    async def drain(self) -> None:
        """Wait for the audits in flight (tests, shutdown)."""
        while self._running:
            await asyncio.gather(*list(self._running), return_exceptions=True)
