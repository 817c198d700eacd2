"""Milvus's rules for user names and passwords, and how a password is hashed.

bcrypt reads at most 72 bytes while Milvus accepts passwords of up to 256
characters, so the hash is taken over the password's SHA-256 digest (base64,
44 bytes): every accepted password counts in full.
"""

from __future__ import annotations

import base64
import hashlib
import string

import bcrypt

from elanus import errors
from elanus.config import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH

MAX_USERNAME_LENGTH = 32  # Milvus's proxy.maxUsernameLength
BCRYPT_COST = 10  # Go's bcrypt.DefaultCost, which Milvus uses
_LETTERS = frozenset(string.ascii_letters)
_USERNAME_CHARS = _LETTERS | frozenset(string.digits) | {"_"}


def validate_username(username: str) -> str:
    """Milvus's username rule (the name is trimmed first); returns the trimmed name."""
    name = username.strip()
    if not name:
        raise errors.ParameterInvalid(cause="username must be not empty")
    if len(name) > MAX_USERNAME_LENGTH:
        raise errors.ParameterInvalid(
            cause=f"invalid username {name} with length {len(name)}, "
            f"the length of username must be less than {MAX_USERNAME_LENGTH}"
        )
    if name[0] not in _LETTERS:
        raise errors.ParameterInvalid(
            cause=f"invalid user name {name}, the first character must be a letter, "
            f"but got {name[0]}"
        )
    for char in name[1:]:
        if char not in _USERNAME_CHARS:
            raise errors.ParameterInvalid(
                cause=f"invalid user name {name}, username must contain only numbers, "
                f"letters and underscores, but got {char}"
            )
    return name


def validate_password(password: str) -> None:
    """Milvus's password length rule (6 to 256 characters)."""
    if not MIN_PASSWORD_LENGTH <= len(password) <= MAX_PASSWORD_LENGTH:
        raise errors.ParameterInvalid(
            f"lower={MIN_PASSWORD_LENGTH}][upper={MAX_PASSWORD_LENGTH}][actual={len(password)}",
            cause="invalid password length",
        )


def bcrypt_input(password: str) -> bytes:
    return base64.b64encode(hashlib.sha256(password.encode()).digest())


def hash_password(password: str) -> bytes:
    return bcrypt.hashpw(bcrypt_input(password), bcrypt.gensalt(rounds=BCRYPT_COST))


def password_matches(password: str, password_hash: bytes) -> bool:
    return bcrypt.checkpw(bcrypt_input(password), password_hash)
