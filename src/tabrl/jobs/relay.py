"""Relaying a job that runs away from the server's home and database (Ray, Modal).

A task on a remote worker runs with a `RelayRecorder` in place of the job store: every progress
report, event and result update is queued, with the files it refers to (checkpoints as they are
written, the policy, the video) packed as `tabrl.jobs.bundles`. The server drains that queue and
`apply_ops` writes it into its own database and TabRL home. Paths under the worker's scratch home
travel as `HOME_MARK` and land under the server's.

Ops, oldest first: `("progress", dict)`, `("event", type, dict)`, `("result", dict)`,
`("files", bundle_bytes)`, `("keep", run_checkpoints_dir, [names kept])`.
"""

from __future__ import annotations

import re
import shutil
import threading
from pathlib import Path
from typing import Any

from tabrl.jobs import bundles
from tabrl.jobs.models import Job
from tabrl.jobs.store import JobStore
from tabrl.paths import home_dir

#: Placeholder for the TabRL home in paths relayed from a node (replaced by the server's home).
HOME_MARK = "$TABRL_HOME"


def rehome(obj: Any, old: str, new: str) -> Any:
    """`obj` with every string path under `old` moved under `new` (dicts and lists walked)."""
    if isinstance(obj, str):
        return new + obj[len(old) :] if obj == old or obj.startswith(old + "/") else obj
    if isinstance(obj, dict):
        return {k: rehome(v, old, new) for k, v in obj.items()}
    if isinstance(obj, list):
        return [rehome(v, old, new) for v in obj]
    return obj


class RelayRecorder:
    """The job store as a task on a node sees it: reads from the job as it was handed over,
    writes queued for the server to drain (`JobRecorder`)."""

    def __init__(self, job: dict[str, Any], home: Path, stop_event: threading.Event) -> None:
        self.job = dict(job)
        self.home = home
        self._stop = stop_event
        self._ops: list[tuple[Any, ...]] = []
        self._lock = threading.Lock()
        self._shipped: set[str] = set()

    # --- JobRecorder ---------------------------------------------------------------------

    def get(self, job_id: str) -> Job:
        return Job(**self.job)

    def set_progress(self, job_id: str, progress: dict[str, Any]) -> bool:
        ckpt = progress.get("checkpoint")
        if isinstance(ckpt, str) and ckpt.startswith(str(self.home) + "/") and Path(ckpt).is_dir():
            self._ship_checkpoint(job_id, Path(ckpt))
        self._push("progress", self._mark(progress))
        return self._stop.is_set()

    def heartbeat(self, job_id: str) -> bool:
        return self._stop.is_set()

    def add_event(self, job_id: str, type_: str, payload: dict[str, Any]) -> None:
        if type_ == "video" and isinstance(payload.get("video_id"), str):
            self.ship([f"videos/{payload['video_id']}.mp4"])
        self._push("event", type_, self._mark(payload))

    def update_result(self, job_id: str, **result: Any) -> Job:
        policy_dir = result.get("policy_dir")
        if isinstance(policy_dir, str) and policy_dir.startswith(str(self.home) + "/"):
            self.ship([Path(policy_dir).relative_to(self.home).as_posix()])
        self.job["result"] = {**(self.job.get("result") or {}), **result}
        self._push("result", self._mark(result))
        return self.get(job_id)

    # --- shipping --------------------------------------------------------------------------

    def ship(self, units: list[str]) -> None:
        """Queue the files `units` (home-relative; missing ones skipped) for the server's store."""
        if not any((self.home / u).exists() for u in units):
            return
        self._push("files", bundles.pack(self.home, units))
        self._shipped.update(units)

    def _ship_checkpoint(self, job_id: str, ckpt: Path) -> None:
        """A new checkpoint and the run's top-level files (config, events): enough to resume. Then the
        checkpoints the node pruned are pruned on the server too (checkpoints are never replaced in
        place: a reader of the newest always finds it whole)."""
        run = self.home / "runs" / job_id
        units = [f"runs/{job_id}/{p.name}" for p in run.iterdir() if p.is_file()]
        self.ship([*units, ckpt.relative_to(self.home).as_posix()])
        kept = sorted(p.name for p in ckpt.parent.iterdir() if p.is_dir())
        self._push("keep", ckpt.parent.relative_to(self.home).as_posix(), kept)

    def mark_shipped(self, units: set[str]) -> None:
        """Units the server already has (the job's inputs): never shipped back."""
        self._shipped.update(units)

    def unshipped(self, prefix: str) -> list[str]:
        """Entries of home folder `prefix` (e.g. `policies`) not shipped yet."""
        folder = self.home / prefix
        if not folder.is_dir():
            return []
        return [u for p in folder.iterdir() if (u := f"{prefix}/{p.name}") not in self._shipped]

    # --- queue -----------------------------------------------------------------------------

    def _mark(self, payload: dict[str, Any]) -> dict[str, Any]:
        return rehome(payload, str(self.home), HOME_MARK)

    def _push(self, *op: Any) -> None:
        with self._lock:
            self._ops.append(op)

    def drain(self) -> list[tuple[Any, ...]]:
        """Everything recorded since the last drain, oldest first."""
        with self._lock:
            ops, self._ops = self._ops, []
        return ops


def inputs_of(job: Job) -> list[str]:
    """Home-relative files the job reads on its worker: a resumed run, the model it fine-tunes
    or renders, a user base policy, a registered MJCF scene."""
    req = job.request or {}
    units = []
    if req.get("resume"):
        units.append(f"runs/{job.id}")
    for key in ("base_model_id", "model_id"):
        if req.get(key):
            units.append(f"policies/{req[key]}")
    if (job.result or {}).get("model_id"):
        units.append(f"policies/{job.result['model_id']}")  # trained before an interruption
    if req.get("base_id"):
        units.append(f"base_policies/{req['base_id']}")
    scene = str(req.get("scene_id") or job.scene_id or "")
    if scene.startswith("mjcf:"):
        units.append(f"scenes/{scene.split(':', 1)[1]}")
    return [u for u in units if (home_dir() / u).exists() and "/." not in u and ".." not in u]


def apply_ops(store: JobStore, job_id: str, ops: list[tuple[Any, ...]]) -> None:
    """Write what a remote task recorded (`RelayRecorder.drain`) into `store` and this home."""
    home = str(home_dir())
    for op in ops:
        kind = op[0]
        if kind == "files":
            bundles.unpack(op[1], home_dir())
        elif kind == "progress":
            store.set_progress(job_id, rehome(op[1], HOME_MARK, home))
        elif kind == "event":
            store.add_event(job_id, op[1], rehome(op[2], HOME_MARK, home))
        elif kind == "result":
            store.update_result(job_id, **rehome(op[1], HOME_MARK, home))
        elif kind == "keep":
            keep_only(home_dir() / bundles.check_unit(op[1]), set(op[2]))


def keep_only(folder: Path, names: set[str]) -> None:
    """Delete the checkpoint folders (`step_N`) of `folder` not in `names`."""
    if folder.is_dir() and folder.relative_to(home_dir()).parts[0] == "runs":
        for path in folder.iterdir():
            if path.is_dir() and re.fullmatch(r"step_\d+", path.name) and path.name not in names:
                shutil.rmtree(path, ignore_errors=True)
