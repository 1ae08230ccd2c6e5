"""salesops: Sales Operations on your own data.

The public library API is what `__all__` lists; everything else may change between versions.
"""

from salesops.config import Settings, get_settings
from salesops.db import make_engine, session_scope, utc_now
from salesops.errors import (
    Conflict,
    NotFound,
    PermissionDenied,
    Problem,
    SalesOpsError,
    ValidationFailed,
)

__version__ = "0.1.0"

__all__ = [
    "Conflict",
    "NotFound",
    "PermissionDenied",
    "Problem",
    "SalesOpsError",
    "Settings",
    "ValidationFailed",
    "__version__",
    "get_settings",
    "make_engine",
    "session_scope",
    "utc_now",
]
