"""Database access: engines, sessions, schema migrations and portable column types."""

from salesops.db.engine import make_engine, normalize_url, session_factory, session_scope
from salesops.db.types import Money, Ratio, UTCDateTime, as_utc, utc_now

__all__ = [
    "Money",
    "Ratio",
    "UTCDateTime",
    "as_utc",
    "make_engine",
    "normalize_url",
    "session_factory",
    "session_scope",
    "utc_now",
]
