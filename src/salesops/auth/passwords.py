"""Password hashing with argon2id (parameters from argon2-cffi's RFC 9106 low-memory profile)."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from salesops.errors import Problem, ValidationFailed

_hasher = PasswordHasher()

MIN_LENGTH = 8
# A hash of a random string: verifying against it when the user does not exist keeps the
# response time of a failed sign-in the same whether or not the username is known.
_DUMMY_HASH = _hasher.hash("salesops-no-such-user-7f3a")


def check_strength(password: str) -> None:
    """Refuse passwords too short to resist guessing."""
    if len(password) < MIN_LENGTH:
        raise ValidationFailed(
            "password too weak",
            [Problem(f"must be at least {MIN_LENGTH} characters long", "password")],
        )


def hash_password(password: str) -> str:
    """An argon2id hash of `password`, with its own random salt."""
    check_strength(password)
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Whether `password` matches `password_hash` (always false when there is no hash)."""
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and bool(password_hash)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """Whether the hash was made with weaker parameters than today's."""
    return _hasher.check_needs_rehash(password_hash)
