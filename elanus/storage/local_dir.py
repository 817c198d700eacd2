"""The embedded object store: one file per key under a root directory.

Why files and not a database: segment and index files are large, written once
and read whole, which is what a file system is best at. Key ``a/b/c`` is the file
``root/a/b/c``. A ``put`` writes a temporary file beside the target, fsyncs it,
renames it over the target and fsyncs the directory, so a reader (or a restart
after ``kill -9`` or power loss) sees the old object or the new one, never a mix,
and a put that returned is durable. Temporary files are named
``.elanus-tmp-*``; keys may not use that name and listings skip it.

Like S3 a prefix is a plain string prefix (``"a/b"`` matches ``a/b/x`` and
``a/bc``). Unlike S3, a key cannot also be a "directory" of other keys
(``a`` and ``a/b`` cannot both exist); such a put raises OSError.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from pathlib import Path

from elanus.storage import TEMP_PREFIX, ObjectStore, check_key, check_prefix

__all__ = ["LocalDirStore"]

_PUT_ATTEMPTS = 3  # a concurrent delete may prune the directory a put just made


def _fsync_directory(directory: Path) -> None:
    """Make a rename or a new entry in ``directory`` durable."""
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class LocalDirStore(ObjectStore):
    """An :class:`ObjectStore` over ``root``; safe for many threads and processes.

    Keys are ``/``-separated, non-empty, without a leading ``/``, empty, ``.`` or
    ``..`` components, NUL characters, or components starting with
    ``.elanus-tmp-``; other keys raise ValueError.
    """

    def __init__(self, root: Path) -> None:
        self.root = Path(root).resolve()
        self.root.mkdir(parents=True, exist_ok=True)

    def _path(self, key: str) -> Path:
        check_key(key)
        return self.root.joinpath(*key.split("/"))

    def _check_prefix(self, prefix: str) -> None:
        check_prefix(prefix)

    # -- writes --------------------------------------------------------------

    def put(self, key: str, data: bytes) -> None:
        """Store ``data`` under ``key`` atomically and durably, replacing any old object."""
        path = self._path(key)
        for attempt in range(_PUT_ATTEMPTS):
            try:
                self._make_directories(path.parent)
                self._write_atomically(path, data)
                return
            except FileNotFoundError:
                if attempt == _PUT_ATTEMPTS - 1:
                    raise

    def _make_directories(self, directory: Path) -> None:
        """Create missing directories down to ``directory``, each entry made durable."""
        missing: list[Path] = []
        while directory != self.root and not directory.is_dir():
            missing.append(directory)
            directory = directory.parent
        for new_directory in reversed(missing):
            with contextlib.suppress(FileExistsError):
                new_directory.mkdir()
            _fsync_directory(new_directory.parent)

    def _write_atomically(self, path: Path, data: bytes) -> None:
        temporary = path.with_name(f"{TEMP_PREFIX}{uuid.uuid4().hex}")
        try:
            with open(temporary, "xb") as file:
                file.write(data)
                file.flush()
                os.fsync(file.fileno())
            os.replace(temporary, path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temporary)
            raise
        _fsync_directory(path.parent)

    def delete(self, key: str) -> None:
        """Remove the object if present (no error otherwise) and prune emptied directories."""
        path = self._path(key)
        try:
            os.unlink(path)
        except (FileNotFoundError, IsADirectoryError):
            return
        self._prune_empty_parents(path.parent)

    def _prune_empty_parents(self, directory: Path) -> None:
        # rmdir fails on a non-empty directory, so a racing put keeps its directory
        # (or, having lost it, recreates it: see put).
        while directory != self.root:
            try:
                directory.rmdir()
            except OSError:
                return
            directory = directory.parent

    def delete_prefix(self, prefix: str) -> int:
        """Remove every object whose key starts with ``prefix``; returns how many there were."""
        keys = self.list(prefix)
        for key in keys:
            self.delete(key)
        return len(keys)

    # -- reads ---------------------------------------------------------------

    def get(self, key: str) -> bytes:
        """The object's bytes; KeyError if there is none."""
        try:
            return self._path(key).read_bytes()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise KeyError(key) from None

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def size(self, key: str) -> int:
        """The object's length in bytes; KeyError if there is none."""
        path = self._path(key)
        try:
            if path.is_file():
                return path.stat().st_size
        except (FileNotFoundError, NotADirectoryError):
            pass
        raise KeyError(key)

    def list(self, prefix: str = "") -> list[str]:
        """Every key starting with ``prefix`` (every key for ``""``), sorted."""
        self._check_prefix(prefix)
        directory_part = prefix.rpartition("/")[0]
        start = self.root.joinpath(*directory_part.split("/")) if directory_part else self.root
        keys: list[str] = []
        for directory, subdirectories, files in os.walk(start):
            relative = Path(directory).relative_to(self.root).as_posix()
            base = "" if relative == "." else relative + "/"
            # Descend only where keys can still match the prefix.
            subdirectories[:] = [
                name
                for name in subdirectories
                if (base + name).startswith(prefix) or prefix.startswith(base + name + "/")
            ]
            keys.extend(
                base + name
                for name in files
                if not name.startswith(TEMP_PREFIX) and (base + name).startswith(prefix)
            )
        keys.sort()
        return keys
