"""CPU training benchmark: TabRL's default preset vs Brax PPO with Playground's published settings.

One process, one report (JSON + a table), over several seeds (--seeds, default 0 1 2):

(a) TabRL's default CPU preset on CartpoleBalance, until the evaluation reward reaches
    --target (900), wall time including environment load, JIT compile, training and
    evaluations. Every seed runs twice: from an empty XLA cache (cold: what a person sees the
    very first time), then on the persistent cache that run filled (warm: every later run).
(b) The reference: `brax.training.agents.ppo.train` with MuJoCo Playground's published
    DM-Control PPO settings for CartpoleBalance (`dm_control_suite_params.brax_ppo_config`),
    scaled to 256 environments (num_envs 2048 -> 256 and batch_size 1024 -> 128, keeping the
    unrolls per update and everything else), on the same Playground environment, each seed from
    an empty XLA cache. It is observed after every PPO update (see `_observed`: the identical
    training, with Brax's evaluator off) and scored by the same evaluator as (a), the evaluation
    time excluded from its clock. It stops at the target or after `--budget-factor` x the
    slowest (a) run; a run that stops short counts with its training time (a lower bound).

Usage:  uv run python bench/train_cpu.py [--seeds 0 1 2] [--budget-factor 5] [--skip-reference]
The machine may be shared; the load average is recorded.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

_T_PROCESS = time.perf_counter()


def _fresh_cache() -> Path:
    # A fresh persistent XLA cache makes the first (a) run a true cold start; later runs reuse it.
    cache = Path(tempfile.mkdtemp(prefix="tabrl-bench-cache-"))
    os.environ["TABRL_CACHE_DIR"] = str(cache)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("JAX_PLATFORMS", "cpu")
    return cache


def _fresh_jax_cache() -> None:
    """Point JAX's persistent compilation cache at an empty folder (a cold start)."""
    import jax
    from jax._src import compilation_cache

    jax.config.update("jax_compilation_cache_dir", tempfile.mkdtemp(prefix="tabrl-bench-cache-b-"))
    compilation_cache.reset_cache()


def run_tabrl(target: float, out: Path, max_steps: int | None, seed: int) -> dict:
    """(a): the default CPU preset, stopping at the first evaluation >= target."""
    from tabrl.training import TrainRequest, preset_for, run_training

    cfg = preset_for("CartpoleBalance", "cpu").replace(stop_at_reward=target, seed=seed)
    if max_steps:
        cfg = cfg.replace(num_timesteps=max_steps)
    curve: list[dict] = []

    def on_event(event) -> None:  # type: ignore[no-untyped-def]
        if event.kind == "eval":
            curve.append(
                {"t": round(event.elapsed_s, 2), "step": event.step, "reward": round(event.eval_reward_mean, 1),
                 "sps": round(event.env_steps_per_s or 0)}
            )  # fmt: skip
            print(
                f"  (a) seed {seed} {event.elapsed_s:6.1f}s step {event.step:>9,} reward {event.eval_reward_mean:7.1f}",
                flush=True,
            )

    start = time.perf_counter()
    result = run_training(TrainRequest("CartpoleBalance", out, config=cfg), on_event=on_event)
    wall = time.perf_counter() - start
    sps = [c["sps"] for c in curve[1:] if c["sps"]]  # the first interval includes the compile
    return {
        "seed": seed,
        "wall_s": round(wall, 2),
        "reached": bool(result.eval_reward is not None and result.eval_reward >= target),
        "eval_reward": round(result.eval_reward or float("nan"), 1),
        "steps": result.steps,
        "first_eval_s": curve[0]["t"] if curve else None,
        "train_env_steps_per_s_median": round(statistics.median(sps)) if sps else None,
        "curve": curve,
        "config": cfg.to_dict(),
    }


def reference_config() -> dict:
    """Playground's published DM-Control PPO settings for CartpoleBalance, scaled to 256 envs."""
    from mujoco_playground.config import dm_control_suite_params

    rl = dm_control_suite_params.brax_ppo_config("CartpoleBalance").to_dict()
    scale = 256 / rl["num_envs"]
    rl["num_envs"] = 256
    rl["batch_size"] = int(rl["batch_size"] * scale)
    return rl


def _observed(rl: dict) -> dict:
    """The same training, observed after every update instead of every 10.

    Playground's `num_resets_per_eval=10` runs 10 training epochs (one PPO update of 122,880
    env steps each, the env reset after each) between evaluations. With `num_resets_per_eval=1`
    and 10x the evaluations, Brax runs the identical sequence of updates, resets and random keys,
    but calls `policy_params_fn` after every update, so the step at which (b) reaches the target
    is known to one update rather than to 1.23 M steps. Brax's own evaluator is off
    (`run_evals=False`): (b) is evaluated by the same evaluator as (a), and the evaluation time
    is excluded from (b)'s clock, which can only make (b) look faster.
    """
    per_update = rl["batch_size"] * rl["unroll_length"] * rl["num_minibatches"]
    observed = dict(rl, num_resets_per_eval=1, run_evals=False)
    # Brax runs ceil(steps / (evals_after_init * per_update)) updates per epoch: make that 1.
    observed["num_evals"] = -(-rl["num_timesteps"] // per_update) + 1
    return observed


def run_reference(budget_s: float, target: float, seed: int) -> dict:
    """(b): Brax PPO with the reference settings until it reaches `target` or trains for `budget_s`."""
    from brax.training.agents.ppo import train as ppo
    from mujoco_playground import wrapper

    from tabrl.scenes import load_scene
    from tabrl.training.evaluation import Evaluator

    rl = reference_config()
    curve: list[dict] = []
    excluded = 0.0  # evaluation time, not charged to (b)
    evaluator: list[Evaluator] = []
    start = time.perf_counter()

    class _Stop(Exception):
        pass

    _fresh_jax_cache()  # cold, like (a)'s first run: nothing of (a)'s compiles is reused
    env = load_scene("CartpoleBalance").env

    def on_params(step: int, make_policy, params) -> None:  # type: ignore[no-untyped-def]
        nonlocal excluded
        t = time.perf_counter() - start - excluded
        t_eval = time.perf_counter()
        if not evaluator:
            evaluator.append(
                Evaluator(env, make_policy, num_envs=32, episode_length=1000, action_repeat=1,
                          deterministic=True, seed=0)
            )  # fmt: skip
        reward = evaluator[0](params).reward_mean
        excluded += time.perf_counter() - t_eval
        curve.append({"t": round(t, 2), "step": int(step), "reward": round(reward, 1)})
        print(f"  (b) seed {seed} {t:6.1f}s step {step:>9,} reward {reward:7.1f}", flush=True)
        if t >= budget_s or reward >= target:
            raise _Stop

    with contextlib.suppress(_Stop):
        ppo.train(
            environment=env, wrap_env_fn=wrapper.wrap_for_brax_training, policy_params_fn=on_params,
            **_observed(rl), seed=seed,
        )  # fmt: skip
    wall = time.perf_counter() - start
    reached = [c for c in curve if c["reward"] >= target]
    return {
        "seed": seed,
        "wall_s": round(wall, 2),
        "train_s": curve[-1]["t"] if curve else round(wall - excluded, 2),
        "eval_s_excluded": round(excluded, 2),
        "budget_s": round(budget_s, 1),
        "reached": bool(reached),
        "time_to_target_s": reached[0]["t"] if reached else None,
        "step_at_target": reached[0]["step"] if reached else None,
        "final_reward": curve[-1]["reward"] if curve else None,
        "final_step": curve[-1]["step"] if curve else None,
        "curve": curve,
        "config": rl,
    }


def _median(values: list[float]) -> float | None:
    return round(statistics.median(values), 2) if values else None


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--target", type=float, default=900.0)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="(a) and (b) seeds")
    parser.add_argument("--budget-factor", type=float, default=5.0)
    parser.add_argument("--skip-reference", action="store_true", help="only (a)")
    parser.add_argument(
        "--reference-budget",
        type=float,
        default=None,
        help="fixed (b) budget in seconds (default: factor x (a))",
    )
    parser.add_argument("--max-steps", type=int, default=None, help="cap (a)'s steps (default: the preset's)")
    parser.add_argument("--out", type=Path, default=Path("bench/results/train_cpu.json"))
    args = parser.parse_args()

    cache = _fresh_cache()
    from tabrl.training.backends.mjx import configure_xla_for_cpu

    configure_xla_for_cpu()
    # Import what both (a) and (b) use before either clock starts: otherwise (a)'s first run pays
    # ~2 s of MJX/Warp/Playground imports that (b), later in the process, gets for free.
    import brax.training.agents.ppo.train  # noqa: F401
    import jax
    import mujoco_playground  # noqa: F401
    from mujoco import mjx  # noqa: F401

    from tabrl.runtime import configure_jax

    configure_jax()
    import_s = time.perf_counter() - _T_PROCESS
    report: dict = {
        "machine": {"cpus": os.cpu_count(), "load_avg_start": os.getloadavg(), "jax": jax.__version__,
                    "backend": jax.default_backend(), "xla_flags": os.environ.get("XLA_FLAGS", "")},
        "target": args.target,
        "seeds": args.seeds,
        "import_s": round(import_s, 2),
        "xla_cache": str(cache),
    }  # fmt: skip
    # (a): every seed twice: first into an empty XLA cache (cold), then again on that cache (warm).
    runs = []
    with tempfile.TemporaryDirectory(prefix="tabrl-bench-") as tmp:
        for i, seed in enumerate(args.seeds):
            for label in ("cold", "warm"):
                print(f"(a) seed {seed}, {label} XLA cache", flush=True)
                if label == "cold" and i > 0:
                    _fresh_jax_cache()
                run = run_tabrl(args.target, Path(tmp) / f"a{seed}-{label}", args.max_steps, seed)
                run["cache"] = label
                runs.append(run)
    cold = [r for r in runs if r["cache"] == "cold"]
    warm = [r for r in runs if r["cache"] == "warm"]
    report["a"] = {
        "runs": runs,
        "cold_wall_s": {str(r["seed"]): r["wall_s"] for r in cold},
        "warm_wall_s": {str(r["seed"]): r["wall_s"] for r in warm},
        "cold_wall_s_median": _median([r["wall_s"] for r in cold]),
        "warm_wall_s_median": _median([r["wall_s"] for r in warm]),
        "compile_overhead_s": {str(c["seed"]): round(c["wall_s"] - w["wall_s"], 2) for c, w in zip(cold, warm, strict=True)},
        "all_reached": all(r["reached"] for r in runs),
        "train_env_steps_per_s_median": statistics.median(
            [r["train_env_steps_per_s_median"] for r in runs if r["train_env_steps_per_s_median"]] or [0]
        ),
    }  # fmt: skip
    a = report["a"]
    if not args.skip_reference:
        slowest = max(r["wall_s"] for r in runs)
        budget = args.reference_budget or args.budget_factor * slowest
        refs = []
        for seed in args.seeds:
            print(f"(b) seed {seed}: cold XLA cache, up to {budget:.0f} s of training", flush=True)
            refs.append(run_reference(budget, args.target, seed))
        # (b) that never reached the target counts with the time it trained: a lower bound on its time.
        b_times = [r["time_to_target_s"] if r["reached"] else r["train_s"] for r in refs]
        report["b"] = {
            "runs": refs,
            "time_to_target_s": {str(r["seed"]): r["time_to_target_s"] for r in refs},
            "time_to_target_s_median": _median(b_times),
            "all_reached": all(r["reached"] for r in refs),
        }
        b_median = report["b"]["time_to_target_s_median"]
        lower = "" if report["b"]["all_reached"] else " (lower bound: a (b) run stopped short of the target)"
        report["speedup"] = {
            "cold_vs_cold": round(b_median / a["cold_wall_s_median"], 2),
            "warm_a_vs_cold_b": round(b_median / a["warm_wall_s_median"], 2),
            "per_seed_cold": {
                str(s): round(bt / r["wall_s"], 2) for s, bt, r in zip(args.seeds, b_times, cold, strict=True)
            },
            "note": "medians over seeds; (b) is always a cold start" + lower,
        }  # fmt: skip
    report["load_avg_end"] = os.getloadavg()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")

    print(f"\n=== CartpoleBalance to eval reward >= {args.target:g} on {os.cpu_count() or 0} CPU cores, "
          f"seeds {args.seeds} ===")  # fmt: skip
    print(f"(a) TabRL CPU preset: cold {a['cold_wall_s']} s, median {a['cold_wall_s_median']} s; "
          f"warm {a['warm_wall_s']} s, median {a['warm_wall_s_median']} s; "
          f"training {a['train_env_steps_per_s_median']:,} env-steps/s "
          f"(+ {import_s:.1f} s of Python, JAX, Brax and Playground imports, once per process, charged to neither)")  # fmt: skip
    if "b" in report:
        b = report["b"]
        print(f"(b) Brax + Playground settings @256 envs, cold: time to target {b['time_to_target_s']} s, "
              f"median {b['time_to_target_s_median']} s")  # fmt: skip
        sp = report["speedup"]
        print(f"speedup: {sp['cold_vs_cold']}x cold vs cold, {sp['warm_a_vs_cold_b']}x warm (a) vs cold (b); "
              f"per seed (cold) {sp['per_seed_cold']}; {sp['note']}")  # fmt: skip
    print(f"report: {args.out}")
    return 0 if a["all_reached"] else 1


if __name__ == "__main__":
    sys.exit(main())
