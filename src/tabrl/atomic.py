"""Write files whole: a reader sees the old file or the new one, never half of either.

Each write goes to a temporary file in the target's own folder (a rename is only atomic within one
file system), which then replaces the target with `os.replace`. The temporary name is unique per
write, so concurrent writers of one path never write into each other's file, and starts with a dot,
so folder listings that skip hidden files skip it; a write that fails removes it. A process killed
mid-write leaves the old file in place (and, at worst, a stray `.name.*.tmp`).

`cached_json` is the disk-cache pattern built on it: read the file when it holds valid JSON, else
build the value and write it.

This module imports nothing from TabRL: every layer may use it.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any


def _temp_for(path: Path, suffix: str = "") -> Path:
    return path.with_name(f".{path.name}.{uuid.uuid4().hex[:12]}.tmp{suffix}")


@contextmanager
def atomic_path(path: str | os.PathLike[str], *, fsync: bool = False) -> Iterator[Path]:
    """A temporary path to write `path`'s new content to (for writers that want a file name, such
    as a video encoder); it replaces `path` when the block ends, and is removed if the block raises.
    It ends in `path`'s suffix, for tools that pick a format by it."""
    target = Path(path)
    tmp = _temp_for(target, target.suffix)
    try:
        yield tmp
        if fsync:
            with open(tmp, "rb") as f:
                os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException:
        with suppress(OSError):
            tmp.unlink()
        raise


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes, *, fsync: bool = False) -> Path:
    """Write `data` to `path` whole (see the module's docstring); `fsync`: flush it to the disk
    before the rename (survives a power cut, not only a crash). Returns the path."""
    target = Path(path)
    tmp = _temp_for(target)
    try:
        # "x": a fresh file with the usual permissions (umask), unlike mkstemp's owner-only 0600.
        with open(tmp, "xb") as f:
            f.write(data)
            if fsync:
                f.flush()
                os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException:
        with suppress(OSError):
            tmp.unlink()
        raise
    return target


def atomic_write_text(
    path: str | os.PathLike[str], text: str, *, encoding: str = "utf-8", fsync: bool = False
) -> Path:
    """Write `text` to `path` whole (see `atomic_write_bytes`)."""
    return atomic_write_bytes(path, text.encode(encoding), fsync=fsync)


def atomic_write_json(path: str | os.PathLike[str], obj: Any, *, fsync: bool = False, **dumps: Any) -> Path:
    """Write `obj` as JSON to `path` whole; `dumps`: `json.dumps`'s options (indent, default...)."""
    return atomic_write_text(path, json.dumps(obj, **dumps), fsync=fsync)


def cached_json(
    path: str | os.PathLike[str],
    build: Callable[[], Any],
    *,
    valid: Callable[[Any], bool] | None = None,
    **dumps: Any,
) -> Any:
    """The JSON value cached at `path`, or `build()`'s, written there atomically.

    The file is used when it parses (and `valid` says yes to its value); a missing, torn or stale
    one is rebuilt. Either way the value is returned as JSON reads it back (tuples become lists),
    so a cold call and a warm one give the same value.
    """
    target = Path(path)
    try:
        value = json.loads(target.read_bytes())
    except (OSError, ValueError):  # missing, unreadable, torn, not JSON (UnicodeDecodeError is one)
        pass
    else:
        if valid is None or valid(value):
            return value
    text = json.dumps(build(), **dumps)
    atomic_write_text(target, text)
    return json.loads(text)


__all__ = ["atomic_path", "atomic_write_bytes", "atomic_write_json", "atomic_write_text", "cached_json"]
