"""Level 1: a joystick base policy playing a command program -- a policy folder with no training.

`command_policy` writes a policy folder whose parameters are the base policy's and whose manifest
carries the program (`commands`) and `level="command"`. Everything that plays a policy -- videos,
the live view, ONNX export, downloads -- then plays the program on it, at once.
"""

from __future__ import annotations

import dataclasses
import shutil
import uuid
from datetime import UTC, datetime
from pathlib import Path

from tabrl.errors import TabRLError
from tabrl.policies.store import MANIFEST, PARAMS, PolicyManifest, new_policy_id, read_manifest

COMMANDS_FILE = "commands.py"


def command_policy(
    base_dir: Path, code: str, out_dir: Path, *, name: str = "", policy_id: str | None = None
) -> PolicyManifest:
    """Write the policy folder `out_dir`: the joystick policy in `base_dir` following program `code`.

    The program is checked first (`tabrl.rewards.commands`): a RewardCompileError lists its errors
    with lines. A base policy that does not follow velocity commands is refused with what to use.
    """
    from tabrl import __version__
    from tabrl.rewards.commands import compile_commands

    base = read_manifest(base_dir)
    command_range = base.config.get("command_range")
    if not command_range:
        raise TabRLError(
            f"policy {base.id} does not follow velocity commands, so a command program cannot drive it; "
            "use a joystick base policy (`tabrl base list` shows which are) or fine-tune with a reward"
        )
    compile_commands(code, tuple(float(v) for v in command_range))  # type: ignore[arg-type]
    manifest = dataclasses.replace(
        base,
        id=policy_id or new_policy_id(base.scene_id),
        commands=code,
        level="command",
        base_policy={"id": base.id, "dir": str(Path(base_dir).resolve()), "scene_id": base.scene_id},
        metrics=[],
        kind="final",
        created_at=datetime.now(UTC).isoformat(timespec="seconds"),
        tabrl_version=__version__,
    )
    if name:
        manifest = dataclasses.replace(manifest, reward=dataclasses.replace(manifest.reward, name=name))
    out_dir = Path(out_dir)
    staging = out_dir.with_name(f".{out_dir.name}.staging-{uuid.uuid4().hex[:6]}")
    staging.mkdir(parents=True)
    try:
        import json

        shutil.copy2(Path(base_dir) / PARAMS, staging / PARAMS)
        (staging / MANIFEST).write_text(json.dumps(manifest.to_dict(), indent=2) + "\n")
        (staging / COMMANDS_FILE).write_text(code, encoding="utf-8")
        if out_dir.exists():
            shutil.rmtree(out_dir)
        staging.rename(out_dir)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return manifest


__all__ = ["COMMANDS_FILE", "command_policy"]
