"""Fail-open machinery: a circuit breaker around the backend and a throttle for its warnings.

When Redis or the embedder fails, requests go to the provider as if there were no cache. Without a
breaker a dead Redis would cost every request a connect timeout; with it, after a few consecutive
failures the cache is skipped outright for a cool-down, then one probe request tries again.
A few lines written here rather than a dependency: the async breakers on PyPI are unmaintained.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

__all__ = ["CircuitBreaker", "WarningThrottle"]


class CircuitBreaker:
    """Closed (use the cache) → open after ``threshold`` consecutive failures → after ``cooldown``
    seconds one trial call is let through (half-open): success closes it, failure re-opens it."""

    def __init__(
        self, threshold: int = 3, cooldown_seconds: float = 5.0, clock: Callable[[], float] = time.monotonic
    ):
        self.threshold = threshold
        self.cooldown_seconds = cooldown_seconds
        self._clock = clock
        self._failures = 0
        self._opened_at: float | None = None
        self._trial_running = False
        self._lock = threading.Lock()

    @property
    def state(self) -> str:
        """``closed``, ``open`` or ``half_open``."""
        with self._lock:
            if self._opened_at is None:
                return "closed"
            if self._clock() - self._opened_at >= self.cooldown_seconds:
                return "half_open"
            return "open"

    def allow(self) -> bool:
        """May a call use the backend now? In half-open state only one trial at a time."""
        with self._lock:
            if self._opened_at is None:
                return True
            if self._clock() - self._opened_at < self.cooldown_seconds or self._trial_running:
                return False
            self._trial_running = True
            return True

    def success(self) -> None:
        """A backend call worked: close the breaker."""
        with self._lock:
            self._failures = 0
            self._opened_at = None
            self._trial_running = False

    def neutral(self) -> None:
        """A call ended without reaching the backend (e.g. a store refused before any write): it proves
        nothing either way, so the state stays; a half-open trial slot is handed back."""
        with self._lock:
            self._trial_running = False

    def failure(self) -> bool:
        """A backend call failed. Returns True when this failure opened the breaker."""
        with self._lock:
            self._failures += 1
            was_open = self._opened_at is not None
            self._trial_running = False
            if was_open or self._failures >= self.threshold:
                self._opened_at = self._clock()
                return not was_open
            return False


class WarningThrottle:
    """At most one warning per ``interval`` per topic, with the count of the ones held back."""

    def __init__(
        self,
        logger: logging.Logger,
        interval_seconds: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.logger = logger
        self.interval_seconds = interval_seconds
        self._clock = clock
        self._last: dict[str, float] = {}
        self._held: dict[str, int] = {}
        self._lock = threading.Lock()

    def warn(self, topic: str, message: str, *args: object) -> bool:
        """Log a warning unless one on this topic was logged within the interval; True if logged."""
        with self._lock:
            now = self._clock()
            last = self._last.get(topic)
            if last is not None and now - last < self.interval_seconds:
                self._held[topic] = self._held.get(topic, 0) + 1
                return False
            held = self._held.pop(topic, 0)
            self._last[topic] = now
        suffix = f" ({held} similar warnings suppressed)" if held else ""
        self.logger.warning(message + suffix, *args)
        return True
