"""Level 2 on a laptop CPU: the Go1 joystick base policy fine-tuned to new behaviours, in minutes.

For each behaviour, each variant trains with the same reward and step budget on the mujoco backend;
after every evaluation the checkpoint is rolled out deterministically in 16 seeded simulations for
10 s and checked by what the robot did (not by its reward):

    walk_backwards   go1_walk_backward:  median speed along the start heading <= -0.3 m/s, <= 2 falls
    spin             go1_spin (1.5 rad/s, beyond the base's +-1.0 training range):
                     median yaw rate >= 1.0 rad/s, median drift <= 0.3 m/s, <= 2 falls

Variants (issue: "keep what was learned -- measure the alternatives"):

    fine_tune_hint   what TabRL submits for these prompts (the default): fine-tuning settings
                     (FINE_TUNE_SETTINGS), the command input following the routine the prompt matches
                     (walk backwards at 0.5 m/s / turn at 1 rad/s) while the reward shapes the rest
    fine_tune        fine-tuning settings, the command input held at "stand still"
    fine_tune_warmup the same, fitting the fresh value function first (`value_warmup`; off by default here)
    fine_tune_lr3e-4 the same at learning rate 3e-4
    fine_tune_lr1e-3 the same at the from-scratch learning rate (1e-3)
    scratch          reference: the same reward and budget from a random policy (the preset)

Reported per run: wall time (scene load, compile, training, evaluations and checks included) to the
first evaluation that passes the check, the figures at that point, and whether it ever did. The
bench target: the default `fine_tune_hint` passes within 300 s (stretch 180 s) on this 2-core CPU.

Usage:  uv run python bench/finetune_go1.py [--behaviours walk_backwards,spin] [--variants ...]
        [--max-steps 3e6]      (stops each run at its first passing check)
Take figures on a quiet machine; the load average is recorded.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

from _common import load, offline_env  # bench/ is the script's folder: on sys.path

offline_env()

SCENE = "Go1JoystickFlatTerrain"
BASE = "go1-joystick"
RESULTS = Path(__file__).resolve().parent / "results"
HINT_BACKWARDS = "def command(t):\n    return (-0.5, 0.0, 0.0)\n"

BEHAVIOURS = {
    "walk_backwards": {"reward": "go1_walk_backward", "hint": HINT_BACKWARDS},
    "spin": {"reward": "go1_spin", "hint": "def command(t):\n    return (0.0, 0.0, 1.0)\n"},
}
VARIANTS = {
    "fine_tune": {"base": True, "set": []},
    "fine_tune_warmup": {"base": True, "set": ["value_warmup=true"]},
    "fine_tune_lr3e-4": {"base": True, "set": ["learning_rate=3e-4"]},
    "fine_tune_lr1e-3": {"base": True, "set": ["learning_rate=1e-3"]},
    "fine_tune_hint": {"base": True, "set": [], "hint": True},
    "scratch": {"base": False, "set": []},
}


def check(behaviour: str, stats) -> tuple[bool, dict]:
    """Whether the rollouts did the behaviour, and the figures."""
    import numpy as np

    med = lambda x: round(float(np.median(x)), 3)  # noqa: E731
    drift = np.hypot(stats.forward_speed, stats.lateral_speed)
    figures = {
        "median_forward_speed": med(stats.forward_speed),
        "median_yaw_rate": med(stats.yaw_rate),
        "median_drift": med(drift),
        "falls": int(stats.fell.sum()),
    }
    if behaviour == "walk_backwards":
        ok = figures["median_forward_speed"] <= -0.3 and figures["falls"] <= 2
    else:
        ok = figures["median_yaw_rate"] >= 1.0 and figures["median_drift"] <= 0.3 and figures["falls"] <= 2
    return ok, figures


def run(behaviour: str, variant: str, max_steps: int, out: Path) -> dict:
    """One fine-tune (or the scratch reference) until its behaviour check passes."""
    from tabrl.rewards.reference import get_reference
    from tabrl.scenes.bases import get_base
    from tabrl.training import CancelToken, TrainRequest, resolve_config, run_training
    from tabrl.training.backends.mujoco import rollout_stats

    spec, var = BEHAVIOURS[behaviour], VARIANTS[variant]
    ref = get_reference(spec["reward"])
    base_dir = get_base(BASE).dir if var["base"] else None
    start = time.perf_counter()
    overrides = ["backend=mujoco", *var["set"]]
    cfg = resolve_config(SCENE, device="cpu", reward_source=ref.code, overrides=overrides, base_dir=base_dir)
    cfg = cfg.replace(num_timesteps=max_steps)
    token, checks, check_s = CancelToken(), [], 0.0

    def on_event(event) -> None:
        nonlocal check_s
        if event.kind != "eval" or event.checkpoint is None:
            return
        t0 = time.perf_counter()
        ok, figures = check(behaviour, rollout_stats(event.checkpoint, num_envs=16, seconds=10.0, seed=1234))
        check_s += time.perf_counter() - t0
        checks.append({"step": event.step, "elapsed_s": round(time.perf_counter() - start, 1),
                       "eval_reward": round(event.eval_reward_mean or 0.0, 1), "passed": ok, **figures})  # fmt: skip
        print(f"  {behaviour}/{variant} step {event.step:>9,} {checks[-1]}", flush=True)
        if ok:
            token.cancel()

    request = TrainRequest(
        SCENE, out, config=cfg, reward_source=ref.code, reward_name=ref.name, base_policy=base_dir,
        commands=spec["hint"] if var.get("hint") else None,
    )  # fmt: skip
    result = run_training(request, on_event, token)
    passed = next((c for c in checks if c["passed"]), None)
    baseline = next((c for c in checks if c["step"] == 0), None)
    return {
        "behaviour": behaviour, "variant": variant, "passed": passed is not None,
        "wall_s_to_pass": passed["elapsed_s"] if passed else None,
        "steps_to_pass": passed["step"] if passed else None,
        "at_pass": passed, "baseline": baseline, "last": checks[-1] if checks else None,
        "wall_s": round(time.perf_counter() - start, 1), "steps": result.steps,
        "behaviour_check_s": round(check_s, 1),
        "learning_rate": cfg.learning_rate, "entropy_cost": cfg.entropy_cost,
    }  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--behaviours", default=",".join(BEHAVIOURS))
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument(
        "--max-steps", type=float, default=3e6, help="step budget per run (stops once it passes)"
    )
    args = parser.parse_args()
    from tabrl.scenes.bases import get_base

    base = get_base(BASE)
    report = {"load_before": load(), "cpus": os.cpu_count(), "base": base.to_dict(), "runs": []}
    print(f"base policy {base.id}: {base.steps:,} steps, load {report['load_before']}", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        for behaviour in args.behaviours.split(","):
            for variant in args.variants.split(","):
                out = Path(tmp) / f"{behaviour}-{variant}"
                report["runs"].append(run(behaviour, variant, int(args.max_steps), out))
    report["load_after"] = load()
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "finetune_go1.json").write_text(json.dumps(report, indent=1) + "\n")
    print(
        f"\n{'behaviour':16} {'variant':18} {'passed':>6} {'wall s':>8} {'steps':>10}  figures at pass / last"
    )
    for r in report["runs"]:
        shown = r["at_pass"] or r["last"] or {}
        figures = {
            k: shown.get(k) for k in ("median_forward_speed", "median_yaw_rate", "median_drift", "falls")
        }
        wall = r["wall_s_to_pass"] if r["passed"] else r["wall_s"]
        steps = r["steps_to_pass"] if r["passed"] else r["steps"]
        print(f"{r['behaviour']:16} {r['variant']:18} {r['passed']!s:>6} {wall:>8} {steps:>10,}  {figures}")
    default = [r for r in report["runs"] if r["variant"] == "fine_tune_hint"]
    ok = bool(default) and all(r["passed"] and r["wall_s_to_pass"] <= 300 for r in default)
    print(
        f"\ntarget (default fine_tune_hint passes within 300 s): {'met' if ok else 'NOT met'}; "
        f"load {report['load_after']}"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
