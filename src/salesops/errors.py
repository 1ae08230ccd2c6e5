"""The SalesOpsError tree: library code raises these; the API and CLI map them to replies."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


class SalesOpsError(Exception):
    """Base of every error that salesops raises on purpose."""

    exit_code = 1
    http_status = 400


class NotFound(SalesOpsError):
    """A record that was asked for does not exist (or is not visible to the caller)."""

    exit_code = 3
    http_status = 404


class Conflict(SalesOpsError):
    """The request contradicts the current state (duplicate key, closed deal, ...)."""

    exit_code = 4
    http_status = 409


class StaleRecord(Conflict):
    """The record changed since the caller read it: a write based on an old version.

    `current` is the version the record has now (None when a concurrent writer won the race
    at the very moment of the write and the new version is not known yet).
    """

    def __init__(self, message: str, *, current: int | None = None) -> None:
        super().__init__(message)
        self.current = current


class PreconditionFailed(StaleRecord):
    """Like StaleRecord, for a version named in an `If-Match` header (HTTP 412)."""

    http_status = 412


class PermissionDenied(SalesOpsError):
    """The caller's role does not allow this."""

    exit_code = 5
    http_status = 403


class ConfigurationError(SalesOpsError):
    """Settings or the environment are wrong (bad database URL, missing extra, ...)."""

    exit_code = 6
    http_status = 500


class Busy(SalesOpsError):
    """Another writer held the database lock for longer than we wait; try again shortly."""

    exit_code = 8
    http_status = 503
    retry_after = 2


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input, with where it is."""

    message: str
    location: str = ""

    def __str__(self) -> str:
        return f"{self.location}: {self.message}" if self.location else self.message


class ValidationFailed(SalesOpsError):
    """Input is invalid; carries every problem found, each with its location."""

    exit_code = 2
    http_status = 422

    def __init__(self, message: str, problems: Sequence[Problem] = ()) -> None:
        self.problems: tuple[Problem, ...] = tuple(problems)
        detail = "; ".join(str(p) for p in self.problems[:20])
        more = len(self.problems) - 20
        if more > 0:
            detail += f"; and {more} more"
        super().__init__(f"{message}: {detail}" if detail else message)
        self.message = message
