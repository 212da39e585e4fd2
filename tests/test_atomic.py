"""tabrl.atomic: files written whole, under concurrent writers and crashes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from tabrl.atomic import atomic_path, atomic_write_bytes, atomic_write_json, atomic_write_text, cached_json


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


def test_writes_replace_the_file_and_leave_nothing_behind(tmp_path: Path) -> None:
    path = tmp_path / "a.json"
    assert atomic_write_bytes(path, b"old") == path and path.read_bytes() == b"old"
    atomic_write_text(path, "café\n")
    assert path.read_text(encoding="utf-8") == "café\n"
    atomic_write_json(path, {"b": [1, 2.5]}, indent=1, fsync=True)
    assert path.read_text() == json.dumps({"b": [1, 2.5]}, indent=1)
    with atomic_path(path) as tmp:
        assert tmp.parent == tmp_path and tmp.suffix == ".json" and tmp.name.startswith(".")
        tmp.write_text("[]")
        assert json.loads(path.read_text()) == {"b": [1, 2.5]}  # not replaced before the block ends
    assert path.read_text() == "[]"
    assert _leftovers(tmp_path) == []
    # Usual permissions (umask), not mkstemp's owner-only 0600.
    umask = os.umask(0)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask


def test_concurrent_writers_never_leave_a_partial_file(tmp_path: Path) -> None:
    path = tmp_path / "cache.json"
    # Large payloads (about 0.6 MB each), so that a plain write would be seen half done.
    payloads = [{"writer": w, "data": [w] * 200_000} for w in range(4)]
    atomic_write_json(path, payloads[0])
    stop = threading.Event()
    errors: list[BaseException] = []
    reads = [0]

    def writer(w: int) -> None:
        try:
            for _ in range(10):
                atomic_write_json(path, payloads[w])
        except BaseException as exc:
            errors.append(exc)

    def reader() -> None:
        while not stop.is_set():
            try:
                value = json.loads(path.read_bytes())
                assert value == payloads[value["writer"]]
                reads[0] += 1
            except BaseException as exc:
                errors.append(exc)
                return

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(4)]
    watcher = threading.Thread(target=reader)
    watcher.start()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    stop.set()
    watcher.join()
    assert not errors, errors[0]
    assert reads[0] > 0
    assert _leftovers(tmp_path) == []


def test_a_failed_write_leaves_the_old_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "params.msgpack"
    path.write_bytes(b"old")

    def disk_full(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", disk_full)
    with pytest.raises(OSError, match="No space"):
        atomic_write_bytes(path, b"new" * 1_000_000, fsync=True)
    assert path.read_bytes() == b"old"
    with pytest.raises(RuntimeError), atomic_path(path) as tmp:
        tmp.write_bytes(b"half a vid")
        raise RuntimeError("encoder died")
    assert path.read_bytes() == b"old"
    assert _leftovers(tmp_path) == []


def test_a_process_killed_mid_write_leaves_the_old_file(tmp_path: Path) -> None:
    path = tmp_path / "card.json"
    path.write_text('{"old": true}')
    # The child dies (no cleanup, no exception handling) after writing the new content, before the rename.
    child = (
        "import os, sys\n"
        "import tabrl.atomic as a\n"
        "os.replace = lambda *args: os._exit(3)\n"
        "a.atomic_write_json(sys.argv[1], {'new': 'x' * 5_000_000})\n"
    )
    result = subprocess.run([sys.executable, "-c", child, str(path)], timeout=60)
    assert result.returncode == 3
    assert json.loads(path.read_text()) == {"old": True}


def test_cached_json_builds_once_and_rebuilds_a_torn_or_stale_file(tmp_path: Path) -> None:
    path = tmp_path / "groups.json"
    calls: list[int] = []

    def build() -> list:
        calls.append(1)
        return [(["CartpoleBalance"], "dm_control")]

    cold = cached_json(path, build)
    warm = cached_json(path, build)
    assert cold == warm == [[["CartpoleBalance"], "dm_control"]] and len(calls) == 1
    path.write_text('[[["Cartpole')  # torn
    assert cached_json(path, build) == cold and len(calls) == 2
    assert cached_json(path, build, valid=lambda v: isinstance(v, dict)) == cold and len(calls) == 3
    path.write_bytes(b"\xff\xfe")  # not even text
    assert cached_json(path, build, indent=1) == cold and len(calls) == 4
    assert path.read_text() == json.dumps(build(), indent=1)
    assert _leftovers(tmp_path) == []
