"""Go1 on a laptop CPU: the MuJoCo C backend against its physics limit and against MJX, in one run.

One process, one JSON report (`bench/results/train_go1_cpu.json`) and a table:

1. physics   -- the raw batched physics rate of the training model (Playground's Go1, 1024
                simulations, 5 substeps per control step): `mjbatch` (the backend's engine) and
                `mujoco.rollout` (the in-tree alternative), control steps/s on every core. The limit.
2. walk      -- Go1 from scratch with `go1_walk_forward` (a plain "walk forward at ~0.8 m/s" reward:
                speed band, upright, height, no gait terms) on the mujoco backend's preset. After
                every evaluation the checkpoint is rolled out in 32 seeded simulations for 10 s; the
                run stops once >= 90 % walk >= 0.5 m/s without falling. Reported: wall time to that
                point (scene load, compile, training, evaluations and checks included) and TabRL's
                training env-steps/s (steps / training time), whose ratio to (1) must be >= 0.6.
3. mjx       -- the same scene and reward as an MJX environment on this CPU (what the mjx backend
                would step): jitted, vmapped step of 256 envs, compile time and env-steps/s. Ours
                must be >= 10x.
4. cartpole  -- CartpoleBalance to evaluation reward 900 with the task's own reward written in the
                reward language: the mujoco backend next to the mjx backend (TabRL's CPU preset).

Usage:  uv run python bench/train_go1_cpu.py [--max-steps 12e6] [--skip-mjx] [--skip-cartpole]
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
RESULTS = Path(__file__).resolve().parent / "results"

#: CartpoleBalance's own reward (Playground's `balance` task), written in TabRL's reward language, so
#: both backends train on the same numbers and the 900 target means the same thing.
CARTPOLE_REWARD = """
def compute_reward(s, action):
    upright = (jnp.cos(s.joint_angle("hinge_1")) + 1.0) / 2.0
    centered = (1.0 + tolerance(s.joint_angle("slider"), margin=2.0)) / 2.0
    small_control = (4.0 + tolerance(action[0], margin=1.0, value_at_margin=0.0, sigmoid="quadratic")) / 5.0
    small_velocity = (1.0 + tolerance(s.joint_vel("hinge_1"), margin=5.0)) / 2.0
    return {"balance": upright * centered * small_control * small_velocity}
"""


def physics_rate(num_sims: int = 1024, iters: int = 30) -> dict[str, float]:
    """(1) Control steps/s of the training model: mjbatch and mujoco.rollout, every core."""
    import mujoco
    import numpy as np
    from mjbatch import Batch
    from mujoco import rollout

    from tabrl.rewards.compiler import scene_context
    from tabrl.scenes.cards import reference_qpos

    ctx = scene_context(SCENE)
    model, substeps = ctx.model, ctx.loaded.n_substeps
    threads = os.cpu_count() or 1
    batch = Batch(model, num_sims, num_threads=threads)
    batch.bind("qpos")[:] = reference_qpos(model)
    batch.bind("ctrl")[:] = reference_qpos(model)[7:]
    batch.forward()
    batch.step(nstep=substeps)
    start = time.perf_counter()
    for _ in range(iters):
        batch.step(nstep=substeps)
    mjbatch_rate = num_sims * iters / (time.perf_counter() - start)

    data = [mujoco.MjData(model) for _ in range(threads)]
    one = mujoco.MjData(model)
    one.qpos[:] = reference_qpos(model)
    mujoco.mj_forward(model, one)
    spec = mujoco.mjtState.mjSTATE_FULLPHYSICS
    state = np.zeros(mujoco.mj_stateSize(model, spec))
    mujoco.mj_getState(model, one, state, spec)
    initial = np.tile(state, (num_sims, 1))
    ctrl = np.tile(reference_qpos(model)[7:], (num_sims, substeps, 1))
    with rollout.Rollout(nthread=threads) as r:
        r.rollout([model] * num_sims, data, initial, ctrl)
        start = time.perf_counter()
        for _ in range(iters // 3):
            out_state, _ = r.rollout([model] * num_sims, data, initial, ctrl)
            initial = out_state[:, -1]
        rollout_rate = num_sims * (iters // 3) / (time.perf_counter() - start)
    return {
        "threads": threads,
        "num_sims": num_sims,
        "substeps": substeps,
        "mjbatch_control_steps_per_s": round(mjbatch_rate),
        "mjbatch_physics_steps_per_s": round(mjbatch_rate * substeps),
        "rollout_control_steps_per_s": round(rollout_rate),
    }


def walk(max_steps: int, out: Path) -> dict:
    """(2) Go1 from scratch until 90 % of 32 seeded 10 s rollouts walk >= 0.5 m/s without a fall."""
    from tabrl.rewards.reference import get_reference
    from tabrl.training import CancelToken, TrainRequest, resolve_config, run_training
    from tabrl.training.backends.mujoco import rollout_stats

    ref = get_reference("go1_walk_forward")
    start = time.perf_counter()
    cfg = resolve_config(SCENE, device="cpu", reward_source=ref.code, overrides=["backend=mujoco"])
    cfg = cfg.replace(num_timesteps=max_steps)
    token = CancelToken()
    checks: list[dict] = []
    check_s = 0.0

    def on_event(event) -> None:
        nonlocal check_s
        if event.kind != "eval" or event.checkpoint is None:
            return
        t0 = time.perf_counter()
        stats = rollout_stats(event.checkpoint, num_envs=32, seconds=10.0, seed=1234)
        walking = (stats.forward_speed >= 0.5) & ~stats.fell
        checks.append({
            "step": event.step, "elapsed_s": round(time.perf_counter() - start, 1),
            "eval_reward": round(event.eval_reward_mean or 0.0, 1),
            "walking_fraction": float(walking.mean()), "falls": int(stats.fell.sum()),
            "median_speed": round(float(sorted(stats.forward_speed)[16]), 3),
            "env_steps_per_s": event.env_steps_per_s,
        })  # fmt: skip
        check_s += time.perf_counter() - t0
        print(f"  step {event.step:>10,}  {checks[-1]}", flush=True)
        if walking.mean() >= 0.9:
            token.cancel()

    result = run_training(
        TrainRequest(SCENE, out, config=cfg, reward_source=ref.code, reward_name=ref.name), on_event, token
    )
    wall = time.perf_counter() - start
    events = [json.loads(line) for line in (out / "events.jsonl").read_text().splitlines()]
    done = events[-1]
    train_s = done["extra"]["train_s"]
    walked = next((c for c in checks if c["walking_fraction"] >= 0.9), None)
    return {
        "walked": walked is not None,
        "wall_s_to_walking": round(wall, 1) if walked else None,
        "steps_to_walking": walked["step"] if walked else None,
        "wall_s": round(wall, 1),
        "steps": result.steps,
        "train_s": round(train_s, 1),
        "eval_s": round(done["extra"]["eval_s"], 1),
        "behaviour_check_s": round(check_s, 1),
        "training_env_steps_per_s": round(result.steps / train_s),
        "checks": checks,
        "config": cfg.to_dict(),
        "policy_dir": str(result.policy_dir),
    }


def mjx_rate(num_envs: int = 256, iters: int = 5) -> dict:
    """(3) The same scene and reward as an MJX env on this CPU: compile time and env-steps/s."""
    import jax
    import numpy as np

    from tabrl.rewards import make_env
    from tabrl.rewards.reference import get_reference

    env = make_env(SCENE, get_reference("go1_walk_forward").code)
    reset = jax.jit(jax.vmap(env.reset))
    step = jax.jit(jax.vmap(env.step))
    keys = jax.random.split(jax.random.PRNGKey(0), num_envs)
    t0 = time.perf_counter()
    state = jax.block_until_ready(reset(keys))
    action = np.zeros((num_envs, env.action_size), np.float32)
    state = jax.block_until_ready(step(state, action))
    compile_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    for _ in range(iters):
        state = step(state, action)
    jax.block_until_ready(state)
    return {
        "num_envs": num_envs,
        "compile_s": round(compile_s, 1),
        "env_steps_per_s": round(num_envs * iters / (time.perf_counter() - t0)),
    }


def cartpole(backend: str, out: Path, max_steps: int = 8_000_000) -> dict:
    """(4) CartpoleBalance to eval reward 900 (the task's reward as a module) on `backend`."""
    from tabrl.training import CancelToken, TrainRequest, resolve_config, run_training

    start = time.perf_counter()
    cfg = resolve_config(
        "CartpoleBalance", device="cpu", reward_source=CARTPOLE_REWARD, overrides=[f"backend={backend}"]
    ).replace(num_timesteps=max_steps)
    token = CancelToken()
    reached: dict = {}

    def on_event(event) -> None:
        if event.kind == "eval" and (event.eval_reward_mean or 0.0) >= 900 and not reached:
            reached.update(step=event.step, wall_s=round(time.perf_counter() - start, 1),
                           eval_reward=round(event.eval_reward_mean, 1))  # fmt: skip
            token.cancel()

    result = run_training(
        TrainRequest("CartpoleBalance", out, config=cfg, reward_source=CARTPOLE_REWARD), on_event, token
    )
    return {
        "backend": backend,
        "reached_900": bool(reached),
        **reached,
        "best_eval_reward": round(result.eval_reward or 0.0, 1),
        "steps": result.steps,
        "wall_s_total": round(time.perf_counter() - start, 1),
        "env_steps_per_s": round(result.metrics[-1]["env_steps_per_s"] or 0) if result.metrics else None,
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--max-steps", type=float, default=12e6, help="Go1 step budget (it stops once it walks)"
    )
    parser.add_argument("--skip-mjx", action="store_true")
    parser.add_argument("--skip-cartpole", action="store_true")
    args = parser.parse_args()
    from tabrl.runtime import configure_jax

    configure_jax()
    report: dict = {"machine": {"cpus": os.cpu_count(), "start": load()}}
    tmp = Path(tempfile.mkdtemp(prefix="tabrl-go1-bench-"))

    print("(1) raw batched physics ...", flush=True)
    report["physics"] = physics_rate()
    print(f"    {report['physics']}", flush=True)
    print("(2) Go1 from scratch to walking (mujoco backend) ...", flush=True)
    report["walk"] = walk(int(args.max_steps), tmp / "go1")
    ratio = report["walk"]["training_env_steps_per_s"] / report["physics"]["mjbatch_control_steps_per_s"]
    report["walk"]["ratio_to_physics"] = round(ratio, 3)
    if not args.skip_mjx:
        print("(3) MJX on this CPU, same scene and reward ...", flush=True)
        report["mjx"] = mjx_rate()
        report["mjx"]["ours_vs_mjx"] = round(
            report["walk"]["training_env_steps_per_s"] / report["mjx"]["env_steps_per_s"], 1
        )
    if not args.skip_cartpole:
        print("(4) CartpoleBalance to 900: mujoco vs mjx ...", flush=True)
        report["cartpole"] = [cartpole("mujoco", tmp / "cp-c"), cartpole("mjx", tmp / "cp-mjx")]
    report["machine"]["end"] = load()

    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "train_go1_cpu.json").write_text(json.dumps(report, indent=2))
    w, p = report["walk"], report["physics"]
    rows = [
        ("raw physics (mjbatch, 1024 Go1, control steps/s)", f"{p['mjbatch_control_steps_per_s']:,}"),
        ("raw physics (mujoco.rollout, same)", f"{p['rollout_control_steps_per_s']:,}"),
        ("TabRL training env-steps/s (mujoco backend)", f"{w['training_env_steps_per_s']:,}"),
        ("  ratio to raw physics (target >= 0.6)", f"{w['ratio_to_physics']:.2f}"),
        ("Go1 walking (>= 90 % of 32 x 10 s at >= 0.5 m/s, no fall)",
         f"{w['wall_s_to_walking']} s, {w['steps_to_walking']:,} steps" if w["walked"] else "not reached"),
    ]  # fmt: skip
    if "mjx" in report:
        m = report["mjx"]
        rows.append(
            (
                "MJX env-steps/s on this CPU (256 envs; compile s)",
                f"{m['env_steps_per_s']:,} ({m['compile_s']} s)",
            )
        )
        rows.append(("  ours vs MJX (target >= 10x)", f"{m['ours_vs_mjx']}x"))
    for c in report.get("cartpole", []):
        rows.append((f"CartpoleBalance to 900, {c['backend']}",
                     f"{c.get('wall_s', 'not reached')} s, {c.get('step', c['steps']):,} steps"))  # fmt: skip
    width = max(len(r[0]) for r in rows)
    print()
    for name, value in rows:
        print(f"{name:<{width}}  {value}")
    print(f"load average: start {report['machine']['start']}, end {report['machine']['end']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
