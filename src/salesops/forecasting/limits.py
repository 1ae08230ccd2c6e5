"""Who may start the expensive forecasting operations, and how often.

A forecast run or a backtest reads the whole pipeline history and fits models: on the
1M-deal demo a backtest costs ~110 s of CPU. Runs are company-wide writes (they store a line
for the company and every team, and predictions for every open deal, and become the run every
forecast page reads), and a backtest's result is the company's figures, so both are for the
roles that change anything (ops, director, admin); analysts read stored runs and backtests
but do not start them, managers and reps see their part of the runs others start.

The limits are per server process (`salesops serve` runs one): per user, one operation at a
time and at most `per_user_recent` started in any `window` seconds; for the whole server, at
most `total_running` at once (the machine's cores). A refused request gets 429 with
`Retry-After` and a message saying which limit it hit. A request refused as invalid (422)
does not count.
"""

from __future__ import annotations

import math
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from salesops.auth.scoping import WRITE_ALL_ROLES, Scope
from salesops.errors import SalesOpsError, ValidationFailed

RUN_ROLES = WRITE_ALL_ROLES


class RateLimited(SalesOpsError):
    """Too many expensive operations: try again after `retry_after` seconds."""

    exit_code = 7
    http_status = 429

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def require_runner(scope: Scope, action: str) -> None:
    """Only ops, directors and admins start forecast runs and backtests."""
    scope.require_role(RUN_ROLES, action)


@dataclass(frozen=True)
class Limits:
    per_user_running: int = 1
    per_user_recent: int = 6
    window: float = 600.0  # seconds
    total_running: int = 2
    busy_retry: int = 30  # seconds suggested while another operation runs


class Limiter:
    """Counts running and recently started operations per user (thread-safe)."""

    def __init__(self, limits: Limits, clock: Callable[[], float] = time.monotonic) -> None:
        self.limits = limits
        self._clock = clock
        self._lock = threading.Lock()
        self._running: dict[int | None, int] = defaultdict(int)
        self._total = 0
        self._recent: dict[int | None, deque[float]] = defaultdict(deque)

    def _check(self, user_id: int | None, what: str, now: float) -> None:
        lim = self.limits
        recent = self._recent[user_id]
        while recent and recent[0] <= now - lim.window:
            recent.popleft()
        if self._running[user_id] >= lim.per_user_running:
            raise RateLimited(
                f"you already have a forecast run or backtest in progress: wait for it to finish"
                f" before starting a {what} (at most {lim.per_user_running} at a time per user)",
                retry_after=lim.busy_retry,
            )
        if self._total >= lim.total_running:
            raise RateLimited(
                f"the server is already running {self._total} forecast runs or backtests (its"
                f" limit): try the {what} again in a little while",
                retry_after=lim.busy_retry,
            )
        if len(recent) >= lim.per_user_recent:
            wait = max(1, math.ceil(recent[0] + lim.window - now))
            raise RateLimited(
                f"you started {len(recent)} forecast runs or backtests in the last"
                f" {lim.window / 60:g} minutes, the limit per user: try the {what} again in"
                f" {wait} s",
                retry_after=wait,
            )

    @contextmanager
    def slot(self, user_id: int | None, what: str) -> Iterator[None]:
        """Hold one slot for an operation of `user_id` (RateLimited when none is free)."""
        with self._lock:
            now = self._clock()
            self._check(user_id, what, now)
            self._recent[user_id].append(now)
            self._running[user_id] += 1
            self._total += 1
        try:
            yield
        except ValidationFailed:
            with self._lock:
                if now in self._recent[user_id]:
                    self._recent[user_id].remove(now)
            raise
        finally:
            with self._lock:
                self._running[user_id] -= 1
                self._total -= 1

    def reset(self) -> None:
        with self._lock:
            self._running.clear()
            self._recent.clear()
            self._total = 0


LIMITER = Limiter(Limits())
