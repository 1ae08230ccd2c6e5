"""The REST API under /api/v1 and the application factory that also mounts the dashboard."""

from salesops.api.app import create_app

__all__ = ["create_app"]
