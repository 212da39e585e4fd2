"""Level 1 in seconds: from a prompt to the video of the Go1 joystick base playing a command program.

Runs the real CLI in a fresh TABRL_HOME, as a person would, and times each path:

    play      `tabrl base play go1-joystick PROGRAM --video OUT`: one program, one video (a cold
              process: imports, scene, policy, rollout, render, encode)
    teach     `tabrl teach --scene Go1JoystickFlatTerrain --budget instant "walk in a circle" --json`:
              the offline composer's approaches, each played, video first, then judged on its check
              (8 seeded 10 s rollouts) and ranked

Then, in this process, the stages of one video (warm imports) against the named reference
`full_meshes`: the same frames rendered from Menagerie's full-resolution meshes, as videos were
rendered before meshes were simplified for software rendering.

Target: a level-1 video within 20 s of the command on this 2-core CPU, in both paths.

Usage:  uv run python bench/level1_video.py [--json bench/results/level1_video.json]
Take figures on a quiet machine; the load average is printed with them.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from _common import offline_env  # bench/ is the script's folder: on sys.path

offline_env()

SCENE = "Go1JoystickFlatTerrain"
BASE = "go1-joystick"
PROMPT = "walk in a circle"
PROGRAM = "def command(t):\n    return (0.4, 0.0, 0.8)\n"
TARGET_S = 20.0


def _cli(args: list[str], home: Path) -> tuple[float, str]:
    env = {**os.environ, "TABRL_HOME": str(home)}
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "tabrl.cli", *args], env=env, capture_output=True, text=True, check=False
    )
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"tabrl {' '.join(args)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return wall, done.stdout


def cli_paths(work: Path) -> dict[str, float]:
    """Wall seconds of the two CLI paths, each in a fresh home."""
    program = work / "circle.py"
    program.write_text(PROGRAM)
    play_s, _ = _cli(
        ["base", "play", BASE, str(program), "--out", str(work / "play"), "--video", str(work / "play.mp4")],
        work / "home-play",
    )
    started = datetime.now(UTC)
    teach_s, out = _cli(
        ["teach", "--scene", SCENE, "--budget", "instant", PROMPT, "--json"], work / "home-teach"
    )
    ranked = json.loads(out.strip().splitlines()[-1])
    videos = [row.get("video") for row in ranked["ranking"]]
    return {"play_s": play_s, "teach_s": teach_s, "teach_videos": float(sum(1 for v in videos if v)),
            "teach_first_video_s": _first_video_s(work / "home-teach", ranked["batch_id"], started)}  # fmt: skip


def _first_video_s(home: Path, batch_id: str, started: datetime) -> float:
    """Seconds from the teach command's start to the first approach's video (its job's "video" event)."""
    os.environ["TABRL_HOME"] = str(home)
    try:
        from tabrl.jobs.store import JobStore

        store = JobStore()
        times = [
            e.created_at
            for job in store.list(batch_id=batch_id)
            for e in store.events_after(job.id, types=("video",))
        ]
    finally:
        os.environ.pop("TABRL_HOME", None)
    first = min(times)
    return (first.replace(tzinfo=first.tzinfo or UTC) - started).total_seconds()


def stages(work: Path) -> dict[str, float]:
    """Seconds of each stage of one video in a warm process, and the full-mesh reference's render."""
    import mujoco

    from tabrl.policies.commands import command_policy
    from tabrl.render.frames import fast_scene_flags
    from tabrl.render.video import DEFAULT_SIZE, encode_mp4, render_trajectory
    from tabrl.scenes.bases import get_base
    from tabrl.training.video import MAX_FPS, rollout_qpos

    out: dict[str, float] = {}
    t = time.perf_counter()
    command_policy(get_base(BASE).dir, PROGRAM, work / "stages")
    out["program_s"] = time.perf_counter() - t
    t = time.perf_counter()
    model, qpos, dt = rollout_qpos(work / "stages", 10.0)
    out["rollout_s"] = time.perf_counter() - t
    frames_q = qpos[:: max(1, round((1.0 / dt) / MAX_FPS))]
    t = time.perf_counter()
    frames = list(render_trajectory(model, frames_q, size=DEFAULT_SIZE))
    out["render_s"] = time.perf_counter() - t
    t = time.perf_counter()
    encode_mp4(frames, work / "stages.mp4", fps=25)
    out["encode_s"] = time.perf_counter() - t
    out["frames"] = float(len(frames))
    # Reference: the same frames from the model's own meshes (the renderer TabRL used before).
    width, height = DEFAULT_SIZE
    model.vis.quality.offsamples = 0
    renderer = mujoco.Renderer(model, height=height, width=width)
    data = mujoco.MjData(model)
    t = time.perf_counter()
    for q in frames_q:
        data.qpos[:] = q
        mujoco.mj_forward(model, data)
        renderer.update_scene(data)
        fast_scene_flags(renderer.scene)
        renderer.render()
    out["full_meshes_render_s"] = time.perf_counter() - t
    renderer.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, default=None, help="Also write the figures here.")
    args = parser.parse_args()
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        paths = cli_paths(work)
        parts = stages(work)
    figures = {**paths, **parts, "load_average_1m": load, "target_s": TARGET_S}
    print(f"load average (1 min) at start: {load:.2f}")
    print(f"{'path':<44}{'wall s':>8}  target <= {TARGET_S:.0f} s")
    for name, key in (("tabrl base play ... --video (one video)", "play_s"),
                      (f'tabrl teach --budget instant "{PROMPT}"', "teach_s")):  # fmt: skip
        verdict = "ok" if figures[key] <= TARGET_S else "MISSED"
        print(f"{name:<44}{figures[key]:>8.1f}  {verdict}")
    first = figures["teach_first_video_s"]
    print(
        f"{'  of which: until its first video':<44}{first:>8.1f}  {'ok' if first <= TARGET_S else 'MISSED'}"
    )
    print(f"\none video in a warm process ({parts['frames']:.0f} frames, 480x360):")
    for key in ("program_s", "rollout_s", "render_s", "encode_s"):
        print(f"  {key[:-2]:<12}{parts[key]:>7.2f} s")
    ratio = parts["full_meshes_render_s"] / max(parts["render_s"], 1e-9)
    print(f"  reference full_meshes render {parts['full_meshes_render_s']:.2f} s ({ratio:.1f}x slower)")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main()
