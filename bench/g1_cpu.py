"""Can the G1 humanoid get a base policy on this CPU? Its physics next to the Go1's, and a time-boxed try.

One process, one JSON report (`bench/results/g1_cpu.json`) and a table:

1. physics  -- raw batched physics of Playground's G1 and Go1 training models (`mjbatch`, the mujoco
               backend's engine, every core, each at its own control step), measured in alternating
               rounds so the ratio holds on a busy machine.
2. attempt  -- the G1 from scratch on the mujoco backend with a "stand up tall and walk forward
               slowly" reward for `--minutes` of wall time; after every evaluation the checkpoint is
               rolled out in 16 seeded 10 s simulations: falls, seconds upright, forward speed.
3. projection -- hours the measured training rate needs for TabRL's Go1 base budget (17 M steps, what
               taught the Go1 to follow commands here) and for Playground's G1 joystick budget (200 M).

Usage:  uv run python bench/g1_cpu.py [--minutes 15] [--skip-attempt]
Take figures on a quiet machine; the load average is recorded.
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

from _common import load, offline_env  # bench/ is the script's folder: on sys.path

offline_env()

G1, GO1 = "G1JoystickFlatTerrain", "Go1JoystickFlatTerrain"
RESULTS = Path(__file__).resolve().parent / "results"
#: Steps of the shipped Go1 joystick base (three stages) and of Playground's G1 joystick recipe.
GO1_BASE_STEPS, PLAYGROUND_G1_STEPS = 17_000_000, 200_000_000

G1_REWARD = """
WEIGHTS = {"alive": 1.0, "upright": 1.0, "height": 1.0, "forward": 1.0, "yaw_rate": 0.2,
           "smooth": 0.01, "pose": 0.1}


def compute_reward(s, action):
    vel = s.body_linvel(s.base, local=True)
    return {
        "alive": 1.0,
        "upright": s.body_upright(s.base),
        "height": tolerance(s.body_height(s.base), bounds=(0.7, 0.85), margin=0.2),
        "forward": tolerance(vel[0], bounds=(0.3, 0.6), margin=0.3, sigmoid="linear", value_at_margin=0.0),
        "yaw_rate": -jnp.square(s.body_angvel(s.base)[2]),
        "smooth": -jnp.sum(jnp.square(action - s.prev_action)),
        "pose": -jnp.sum(jnp.square(s.joint_angles() - s.default_pose)),
    }
"""


def physics(num_sims: int = 256, rounds: int = 5, iters: int = 10) -> dict:
    """(1) Control steps/s of each training model, alternating G1 and Go1 rounds (median of each)."""
    from mjbatch import Batch

    from tabrl.rewards.compiler import scene_context
    from tabrl.scenes.cards import reference_qpos

    threads = os.cpu_count() or 1
    batches = {}
    for scene in (G1, GO1):
        ctx = scene_context(scene)
        model, substeps = ctx.model, ctx.loaded.n_substeps
        batch = Batch(model, num_sims, num_threads=threads)
        batch.bind("qpos")[:] = reference_qpos(model)
        batch.bind("ctrl")[:] = reference_qpos(model)[7:][: model.nu]
        batch.forward()
        batch.step(nstep=substeps)
        batches[scene] = (batch, substeps, model)
    rates: dict[str, list[float]] = {G1: [], GO1: []}
    for _ in range(rounds):
        for scene, (batch, substeps, _) in batches.items():
            start = time.perf_counter()
            for _ in range(iters):
                batch.step(nstep=substeps)
            rates[scene].append(num_sims * iters / (time.perf_counter() - start))
    out = {"threads": threads, "num_sims": num_sims}
    for scene, (_, substeps, model) in batches.items():
        out[scene] = {
            "control_steps_per_s": round(statistics.median(rates[scene])),
            "substeps": substeps,
            "nv": model.nv,
            "nu": model.nu,
        }
    out["g1_over_go1"] = round(out[G1]["control_steps_per_s"] / out[GO1]["control_steps_per_s"], 3)
    return out


def attempt(minutes: float, out: Path) -> dict:
    """(2) The G1 from scratch for `minutes` of wall time; each checkpoint rolled out and measured."""
    from tabrl.training import CancelToken, TrainRequest, resolve_config, run_training
    from tabrl.training.backends.mujoco import rollout_stats

    start = time.perf_counter()
    cfg = resolve_config(G1, device="cpu", reward_source=G1_REWARD, overrides=["backend=mujoco"])
    # Evaluations (and so the rollout checks and the time box) every ~30 s at the quiet-machine rate; the
    # run is cancelled at the first evaluation past `minutes`, or ends at the step budget.
    rate = 2_500
    cfg = cfg.replace(num_timesteps=int(rate * minutes * 60 * 1.5), num_evals=max(2, int(minutes * 3)))
    token = CancelToken()
    checks: list[dict] = []

    def on_event(event) -> None:
        if time.perf_counter() - start > minutes * 60:
            token.cancel()
        if event.kind != "eval" or event.checkpoint is None:
            return
        stats = rollout_stats(event.checkpoint, num_envs=16, seconds=10.0, seed=1234)
        checks.append({
            "step": event.step, "elapsed_s": round(time.perf_counter() - start, 1),
            "eval_reward": round(event.eval_reward_mean or 0.0, 1),
            "eval_episode_length": event.episode_length,
            "falls_of_16": int(stats.fell.sum()),
            "median_forward_speed": round(float(statistics.median(stats.forward_speed)), 3),
            "env_steps_per_s": event.env_steps_per_s,
        })  # fmt: skip
        print(f"  step {event.step:>10,}  {checks[-1]}", flush=True)

    result = run_training(TrainRequest(G1, out, config=cfg, reward_source=G1_REWARD, reward_name="g1_stand_walk"),
                          on_event, token)  # fmt: skip
    wall = time.perf_counter() - start
    events = [json.loads(line) for line in (out / "events.jsonl").read_text().splitlines()]
    train_s = events[-1]["extra"].get("train_s") or wall
    return {
        "minutes": minutes,
        "wall_s": round(wall, 1),
        "steps": result.steps,
        "training_env_steps_per_s": round(result.steps / train_s),
        "episode_length": cfg.episode_length,
        "checks": checks,
        "config": cfg.to_dict(),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--minutes", type=float, default=15.0)
    ap.add_argument("--skip-attempt", action="store_true")
    ap.add_argument("--json", type=Path, default=RESULTS / "g1_cpu.json")
    args = ap.parse_args()

    report: dict = {"load_at_start": load()}
    report["physics"] = physics()
    print(json.dumps(report["physics"], indent=1), flush=True)
    if not args.skip_attempt:
        with tempfile.TemporaryDirectory(prefix="tabrl-g1-") as tmp:
            report["attempt"] = attempt(args.minutes, Path(tmp) / "run")
        rate = report["attempt"]["training_env_steps_per_s"]
        report["projection_h"] = {
            "go1_base_budget_17M": round(GO1_BASE_STEPS / rate / 3600, 1),
            "playground_g1_budget_200M": round(PLAYGROUND_G1_STEPS / rate / 3600, 1),
        }
    report["load_at_end"] = load()
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=1) + "\n")
    p = report["physics"]
    print(f"\nphysics, control steps/s on {p['threads']} threads ({p['num_sims']} sims):")
    print(f"  G1  {p[G1]['control_steps_per_s']:>8,}   Go1 {p[GO1]['control_steps_per_s']:>8,}   "
          f"G1/Go1 = {p['g1_over_go1']}")  # fmt: skip
    if "attempt" in report:
        a = report["attempt"]
        last = a["checks"][-1] if a["checks"] else {}
        print(f"attempt: {a['steps']:,} steps in {a['wall_s']:.0f} s ({a['training_env_steps_per_s']:,} env-steps/s); "
              f"last check: {last}")  # fmt: skip
        print(f"projection: Go1-base budget {report['projection_h']['go1_base_budget_17M']} h, "
              f"Playground's G1 budget {report['projection_h']['playground_g1_budget_200M']} h")  # fmt: skip
    print(f"load: start {report['load_at_start']}, end {report['load_at_end']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
