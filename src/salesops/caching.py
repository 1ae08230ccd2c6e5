"""Caches valid until the data changes (or for a few minutes at most): dashboard figures and
opened metrics sources.

Each metric query costs a few hundred milliseconds of query compilation, and a page asks for
dozens; opening the metrics source costs a fingerprint of the large tables (seconds on millions
of rows). Both are kept per data version: a handful of indexed MAX(id) lookups, cheap on any
size. Every change made through salesops adds an event or an audit entry, and imports add rows;
changes made behind salesops' back (raw SQL updates) show after at most `TTL_SECONDS`.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

from sqlalchemy import event, func, select
from sqlalchemy.orm import Session

from salesops.models import (
    Account,
    AuditEntry,
    Contract,
    FxRate,
    Lead,
    Opportunity,
    OpportunityEvent,
    Quota,
    Rep,
    Team,
    TeamMembership,
    Territory,
)

T = TypeVar("T")
TTL_SECONDS = 300.0
MAX_ENTRIES = 256
_VERSIONED = (
    Opportunity,
    OpportunityEvent,
    Lead,
    Quota,
    Contract,
    Account,
    Rep,
    Team,
    TeamMembership,
    Territory,
    FxRate,
    AuditEntry,
)


def data_version(session: Session) -> tuple[Any, ...]:
    """Changes whenever rows are added, or anything is changed through salesops.

    Kept on the session until it flushes or its transaction ends: a page asks for it more
    than once (its figures, its filter bar) and should not look it up each time."""
    known = session.info.get(_VERSION_KEY)
    if known is not None:
        return known  # type: ignore[no-any-return]
    columns = [func.max(model.id) for model in _VERSIONED]
    version = tuple(session.execute(select(*[select(c).scalar_subquery() for c in columns])).one())
    session.info[_VERSION_KEY] = version
    return version


_VERSION_KEY = "salesops.data_version"


@event.listens_for(Session, "after_flush")
def _forget_version_after_flush(session: Session, _context: Any) -> None:
    session.info.pop(_VERSION_KEY, None)


@event.listens_for(Session, "after_transaction_end")
def _forget_version_after_transaction(session: Session, _transaction: Any) -> None:
    session.info.pop(_VERSION_KEY, None)


class FigureCache:
    """A small thread-safe LRU of computed page figures with a time limit."""

    def __init__(self, max_entries: int = MAX_ENTRIES, ttl: float = TTL_SECONDS) -> None:
        self._entries: OrderedDict[Hashable, tuple[float, Any]] = OrderedDict()
        self._lock = threading.Lock()
        self._pending: dict[Hashable, threading.Lock] = {}
        # Moves on every clear(): a value computed across a clear (on a metrics copy that a
        # newer one replaced meanwhile) is returned to its caller but not kept.
        self._epoch = 0
        self.max_entries = max_entries
        self.ttl = ttl
        self.hits = 0
        self.misses = 0

    def get_or_compute(self, key: Hashable, compute: Callable[[], T]) -> T:
        """The cached value, or compute it; concurrent callers of one key compute it once."""
        found = self._fresh(key)
        if found is not None:
            return found[0]  # type: ignore[no-any-return]
        with self._lock:
            key_lock = self._pending.setdefault(key, threading.Lock())
        with key_lock:
            found = self._fresh(key)
            if found is not None:
                return found[0]  # type: ignore[no-any-return]
            self.misses += 1
            epoch = self._epoch
            value = compute()
            with self._lock:
                if epoch == self._epoch:
                    self._entries[key] = (time.monotonic(), value)
                    self._entries.move_to_end(key)
                    while len(self._entries) > self.max_entries:
                        self._entries.popitem(last=False)
                self._pending.pop(key, None)
        return value

    def _fresh(self, key: Hashable) -> tuple[Any] | None:
        with self._lock:
            found = self._entries.get(key)
            if found is not None and time.monotonic() - found[0] < self.ttl:
                self._entries.move_to_end(key)
                self.hits += 1
                return (found[1],)
        return None

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._epoch += 1


figures = FigureCache()
sources = FigureCache(max_entries=4)


def clear() -> None:
    """Forget everything cached (tests that reuse ids after a rollback start cold)."""
    figures.clear()
    sources.clear()
