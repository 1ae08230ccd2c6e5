"""Worker and outbox code commits on its own: these tests get their own database."""

from tests.workdb import db, work_engine

__all__ = ["db", "work_engine"]
