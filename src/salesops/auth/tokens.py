"""Random secrets (API tokens, session ids) and their stored form: a SHA-256 digest.

A token has 256 bits of entropy, so a fast digest is enough: nobody can brute-force it, and
looking it up by its digest is one indexed query instead of a password-hash check per token.
"""

from __future__ import annotations

import hashlib
import secrets

API_TOKEN_PREFIX = "so_"


def new_secret(prefix: str = "") -> str:
    """A fresh URL-safe random secret with 256 bits of entropy."""
    return prefix + secrets.token_urlsafe(32)


def digest(secret: str) -> str:
    """The hex SHA-256 digest under which a secret is stored."""
    return hashlib.sha256(secret.encode()).hexdigest()
