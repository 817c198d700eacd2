"""Users and their passwords, in the coordinator's metadata KV (issue 15).

A user is one JSON value under ``credentials/users/{name}`` holding only a
bcrypt hash, never the password. Every change also bumps
``credentials/version`` in the same transaction, so a proxy can learn that
its verification cache is stale by reading one small key (or watching it);
that holds on every proxy of a cluster because they share the KV.

How a password is hashed, and the name rules: elanus/access/passwords.py.

The ``root`` user exists from the first start, with
``security.default_root_password``, and cannot be deleted.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass

from elanus import errors
from elanus.access.passwords import (
    hash_password,
    password_matches,
    validate_password,
    validate_username,
)
from elanus.kv import Compare, Delete, MetaKV, Put

log = logging.getLogger(__name__)

ROOT_USER = "root"
USERS_PREFIX = "credentials/users/"
VERSION_KEY = "credentials/version"
_TXN_ATTEMPTS = 16  # optimistic retries when another writer moved the version first


def user_key(username: str) -> str:
    return f"{USERS_PREFIX}{username}"


@dataclass(frozen=True)
class Credential:
    username: str
    password_hash: bytes


class CredentialStore:
    """Create, update, delete and verify users; the KV is the only state."""

    def __init__(self, kv: MetaKV) -> None:
        self._kv = kv

    def ensure_root(self, default_root_password: str) -> None:
        """Create ``root`` on the first start; a later start (or a racing
        coordinator) leaves the existing root and its password alone."""
        if self.get(ROOT_USER) is not None:
            return
        created = self._write_new(ROOT_USER, hash_password(default_root_password))
        if created:
            log.info("created the root user", extra={"user": ROOT_USER})

    def get(self, username: str) -> Credential | None:
        stored = self._kv.get(user_key(username))
        if stored is None:
            return None
        value = json.loads(stored.value)
        return Credential(value["username"], value["password_hash"].encode())

    def all(self) -> list[Credential]:
        """Every user, by name, in one read."""
        credentials = []
        for item in self._kv.get_prefix(USERS_PREFIX):
            value = json.loads(item.value)
            credentials.append(Credential(value["username"], value["password_hash"].encode()))
        return sorted(credentials, key=lambda credential: credential.username)

    def list_users(self) -> list[str]:
        return [credential.username for credential in self.all()]

    def version(self) -> int:
        """Changes so far: a proxy whose cache was filled at another version refills it."""
        stored = self._kv.get(VERSION_KEY)
        return int(stored.value) if stored is not None else 0

    def verify(self, username: str, password: str) -> bool:
        credential = self.get(username)
        return credential is not None and password_matches(password, credential.password_hash)

    def create(self, username: str, password: str) -> None:
        name = validate_username(username)
        validate_password(password)
        if not self._write_new(name, hash_password(password)):
            raise errors.OperationRefused(f"user already exists: {name}")
        log.info("created a user", extra={"user": name})

    def update(self, username: str, new_password: str) -> None:
        """Set a new password. Whether the caller may (the old password, or root)
        is the proxy's check, made before this call."""
        name = validate_username(username)
        validate_password(new_password)
        password_hash = hash_password(new_password)
        for _ in range(_TXN_ATTEMPTS):
            stored = self._kv.get(user_key(name))
            if stored is None:
                raise errors.OperationRefused(f"user not found: {name}")
            guard, bump = version_step(self._kv)
            if self._kv.txn(
                [Compare(stored.key, stored.revision), guard],
                [Put(stored.key, _encode(name, password_hash)), bump],
            ):
                log.info("updated a password", extra={"user": name})
                return
        raise errors.ServiceUnavailable(f"the credentials of {name} kept changing; try again")

    def delete(self, username: str) -> None:
        """Drop a user; dropping one that does not exist changes nothing."""
        name = username.strip()
        if name == ROOT_USER:
            raise errors.OperationRefused("root user cannot be deleted")
        for _ in range(_TXN_ATTEMPTS):
            stored = self._kv.get(user_key(name))
            if stored is None:
                return
            guard, bump = version_step(self._kv)
            if self._kv.txn(
                [Compare(stored.key, stored.revision), guard], [Delete(stored.key), bump]
            ):
                log.info("deleted a user", extra={"user": name})
                return
        raise errors.ServiceUnavailable(f"the credentials of {name} kept changing; try again")

    def _write_new(self, name: str, password_hash: bytes) -> bool:
        """Write a user that must not exist yet: False if it does."""
        for _ in range(_TXN_ATTEMPTS):
            if self._kv.get(user_key(name)) is not None:
                return False
            guard, bump = version_step(self._kv)
            if self._kv.txn(
                [Compare(user_key(name), 0), guard],
                [Put(user_key(name), _encode(name, password_hash)), bump],
            ):
                return True
        raise errors.ServiceUnavailable(f"the credentials of {name} kept changing; try again")


def version_step(kv: MetaKV) -> tuple[Compare, Put]:
    """The guard that the access version is unchanged, and the write that bumps it:
    every change to users or RBAC carries both in its transaction."""
    stored = kv.get(VERSION_KEY)
    if stored is None:
        return Compare(VERSION_KEY, 0), Put(VERSION_KEY, b"1")
    return Compare(VERSION_KEY, stored.revision), Put(
        VERSION_KEY, str(int(stored.value) + 1).encode()
    )


def _encode(name: str, password_hash: bytes) -> bytes:
    return json.dumps({"username": name, "password_hash": password_hash.decode()}).encode()
