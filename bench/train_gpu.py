"""GPU training benchmark: Go1 joystick (and CartpoleBalance) with TabRL's GPU presets.

Reports wall time (including JIT compile), training env-steps/s and the evaluation reward
curve, as JSON and a table. The GPU preset is Playground's published Brax PPO config for the
task (`tabrl.training.config.preset_for(scene, "gpu")`); `--steps` caps the steps (the
published Go1 joystick schedule is 200 M steps).

Usage (on a machine with a CUDA GPU and jax[cuda12] installed):
    uv run python bench/train_gpu.py                             # Go1JoystickFlatTerrain, 200 M steps
    uv run python bench/train_gpu.py --steps 50e6 --scene Go1JoystickFlatTerrain --scene CartpoleBalance
Without a GPU it refuses to run (use --allow-cpu to smoke-test the script itself with a tiny --steps).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path


def bench_scene(scene: str, steps: int | None, out: Path, overrides: list[str]) -> dict:
    """Train `scene` with its GPU (or current-backend) preset; the run's numbers."""
    from tabrl.runtime import device_kind
    from tabrl.training import TrainRequest, preset_for, run_training
    from tabrl.training.config import apply_overrides

    cfg = apply_overrides(preset_for(scene, device_kind()), overrides)
    if steps:
        cfg = cfg.replace(num_timesteps=steps)
    curve: list[dict] = []

    def on_event(event) -> None:  # type: ignore[no-untyped-def]
        if event.kind in ("started", "compiling"):
            print(f"  [{scene}] {event.message}", flush=True)
        if event.kind == "eval":
            curve.append(
                {"t": round(event.elapsed_s, 1), "step": event.step, "reward": round(event.eval_reward_mean, 2),
                 "reward_std": round(event.eval_reward_std, 2), "episode_length": event.episode_length,
                 "sps": round(event.env_steps_per_s or 0)}
            )  # fmt: skip
            print(
                f"  [{scene}] {event.elapsed_s:7.1f}s step {event.step:>12,} reward {event.eval_reward_mean:8.2f} "
                f"sps {event.env_steps_per_s or 0:,.0f}",
                flush=True,
            )

    start = time.perf_counter()
    result = run_training(TrainRequest(scene, out, config=cfg), on_event=on_event)
    wall = time.perf_counter() - start
    sps = [c["sps"] for c in curve[1:] if c["sps"]]
    return {
        "scene": scene,
        "wall_s": round(wall, 1),
        "first_eval_s": curve[0]["t"] if curve else None,
        "eval_reward": result.eval_reward,
        "steps": result.steps,
        "train_env_steps_per_s_median": round(statistics.median(sps)) if sps else None,
        "curve": curve,
        "config": cfg.to_dict(),
        "policy_dir": str(result.policy_dir),
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--scene", action="append", default=None, help="repeatable; default Go1JoystickFlatTerrain"
    )
    parser.add_argument(
        "--steps", type=float, default=None, help="cap the preset's num_timesteps (e.g. 50e6)"
    )
    parser.add_argument(
        "--set", dest="overrides", action="append", default=[], help="config override key=value"
    )
    parser.add_argument("--out", type=Path, default=Path("bench/results/train_gpu.json"))
    parser.add_argument("--keep", type=Path, default=None, help="keep the run folders here")
    parser.add_argument("--allow-cpu", action="store_true", help="run even without a GPU (script smoke test)")
    args = parser.parse_args()

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import jax

    from tabrl.runtime import configure_jax

    configure_jax()
    backend = jax.default_backend()
    if backend != "gpu" and not args.allow_cpu:
        print(f"no GPU visible to JAX (backend: {backend}); install jax[cuda12] on a GPU machine, "
              "or pass --allow-cpu with a tiny --steps to smoke-test", file=sys.stderr)  # fmt: skip
        return 2
    devices = [str(d) for d in jax.devices()]
    scenes = args.scene or ["Go1JoystickFlatTerrain"]
    results = []
    root = args.keep or Path(tempfile.mkdtemp(prefix="tabrl-gpu-bench-"))
    for scene in scenes:
        print(f"== {scene} on {devices[0]}", flush=True)
        results.append(
            bench_scene(scene, int(args.steps) if args.steps else None, root / scene, args.overrides)
        )
    report = {"backend": backend, "devices": devices, "jax": jax.__version__, "results": results}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print("\n=== GPU training ===")
    for r in results:
        print(f"{r['scene']}: eval reward {r['eval_reward']:.2f} after {r['steps']:,} steps in {r['wall_s']:.0f} s "
              f"(first eval at {r['first_eval_s']} s incl. compile; {r['train_env_steps_per_s_median']:,} env-steps/s)")  # fmt: skip
    print(f"report: {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
