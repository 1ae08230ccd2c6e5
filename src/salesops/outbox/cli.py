"""`salesops outbox ...` (defined beside the worker, which delivers the outbox)."""

from salesops.jobs.cli import outbox_app

__all__ = ["outbox_app"]
