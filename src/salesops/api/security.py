"""Security headers on every response: no framing, no sniffing, no caching of private pages.

The dashboard runs only scripts served by the app itself (htmx, Plotly, app.js; chart data
travels in `application/json` script elements, which are not executed), so scripts are
limited to 'self'. Styles keep 'unsafe-inline': the templates use style attributes and Plotly
and htmx inject their own style elements. A response that sets its own policy (the Swagger
page, which needs its inline start-up script) keeps it.
"""

from __future__ import annotations

import base64
import hashlib

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data: blob:",
        "font-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
HEADERS = {
    "content-security-policy": CONTENT_SECURITY_POLICY,
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
    "permissions-policy": "camera=(), microphone=(), geolocation=(), payment=()",
}
# Public, versioned assets may be cached; everything else can carry private data.
PUBLIC_PREFIXES = ("/static/", "/assets/")


def policy_with_script_hashes(*scripts: str) -> str:
    """The policy, also allowing these exact inline scripts (by their SHA-256)."""
    hashes = " ".join(
        "'sha256-" + base64.b64encode(hashlib.sha256(s.encode()).digest()).decode() + "'"
        for s in scripts
    )
    return CONTENT_SECURITY_POLICY.replace("script-src 'self'", f"script-src 'self' {hashes}")


class SecurityHeaders:
    """ASGI middleware adding HEADERS, and `Cache-Control: no-store` unless the path is a
    public asset or the response chose its own caching."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        public = str(scope.get("path", "")).startswith(PUBLIC_PREFIXES)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in HEADERS.items():
                    if name not in headers:
                        headers[name] = value
                if not public and "cache-control" not in headers:
                    headers["cache-control"] = "no-store"
            await send(message)

        await self.app(scope, receive, send_with_headers)
