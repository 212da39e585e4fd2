"""Files that travel between the server's TabRL home and a worker's, as one zip in memory.

An executor without a shared filesystem (Ray) ships a job's inputs (a resumed run's
checkpoints, the policy it fine-tunes or renders) to the worker, and its outputs (checkpoints
as they are written, the policy, the video, the run folder) back to the server's store.

A bundle holds *units*: paths relative to the TabRL home, each a file or a folder. Unpacking
replaces each unit whole and atomically (written beside it, then renamed into place), so a
reader never sees half a policy or half a checkpoint, and a resumed run's folder keeps the
files the bundle does not carry.
"""

from __future__ import annotations

import io
import json
import shutil
import uuid
import zipfile
from collections.abc import Iterable
from pathlib import Path, PurePosixPath

from tabrl.errors import TabRLError

_INDEX = ".tabrl-units.json"


class BundleError(TabRLError):
    """A bundle that cannot be unpacked safely (paths outside the home, a corrupt zip)."""


def check_unit(unit: str) -> PurePosixPath:
    """`unit` as a path inside a TabRL home, or BundleError (absolute, `..`, hidden top folder)."""
    path = PurePosixPath(unit)
    if not unit or path.is_absolute() or ".." in path.parts or path.parts[0].startswith("."):
        raise BundleError(f"bundle unit {unit!r} is not a path inside the TabRL home")
    return path


def pack(home: Path, units: Iterable[str]) -> bytes:
    """Zip the `units` (home-relative files or folders) under `home`; missing ones are skipped."""
    buf = io.BytesIO()
    kept: list[str] = []
    # Checkpoints and policies are msgpack / ONNX / MP4: already dense, so store, don't deflate.
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as zf:
        for unit in dict.fromkeys(units):
            rel = check_unit(unit)
            src = home / rel
            if src.is_file():
                zf.write(src, str(rel))
            elif src.is_dir():
                for file in sorted(p for p in src.rglob("*") if p.is_file()):
                    zf.write(file, str(rel / file.relative_to(src).as_posix()))
            else:
                continue
            kept.append(str(rel))
        zf.writestr(_INDEX, json.dumps(kept))
    return buf.getvalue()


def units_of(data: bytes) -> list[str]:
    """The units a bundle carries."""
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return list(json.loads(zf.read(_INDEX)))


def unpack(data: bytes, home: Path) -> list[str]:
    """Put the bundle's units in place under `home`, each replacing what was there; returns them."""
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as exc:
        raise BundleError(f"a job's files arrived corrupt ({exc}); the job can be resumed") from None
    with zf:
        units = [check_unit(u) for u in json.loads(zf.read(_INDEX))]
        staging = home / f".incoming-{uuid.uuid4().hex[:8]}"
        try:
            for info in zf.infolist():
                if info.filename == _INDEX or info.is_dir():
                    continue
                rel = check_unit(info.filename)
                if not any(rel == u or u in rel.parents for u in units):
                    raise BundleError(f"bundle file {info.filename!r} belongs to no unit")
                target = staging / rel
                target.parent.mkdir(parents=True, exist_ok=True)
                with zf.open(info) as src, open(target, "wb") as dst:
                    shutil.copyfileobj(src, dst)
            for unit in units:
                _replace(staging / unit, home / unit)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return [str(u) for u in units]


def _replace(new: Path, dest: Path) -> None:
    """Move `new` to `dest`, replacing it: a rename for files; for folders, rename the old one
    aside first (a folder cannot be renamed over a non-empty one)."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    if not new.exists():
        new.mkdir(parents=True)  # an empty folder unit
    if new.is_file() or not dest.exists():
        if dest.is_dir():
            shutil.rmtree(dest)
        new.replace(dest)
        return
    old = dest.with_name(f".{dest.name}.old-{uuid.uuid4().hex[:8]}")
    dest.rename(old)
    new.rename(dest)
    shutil.rmtree(old, ignore_errors=True)
