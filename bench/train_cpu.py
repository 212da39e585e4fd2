"""CPU training benchmark: TabRL's default preset vs Brax PPO with Playground's published settings.

One process, one report (JSON + a table):

(a) TabRL's default CPU preset on CartpoleBalance, until the evaluation reward reaches
    --target (900), wall time including environment load, JIT compile, training and
    evaluations. Run --repeats times: the first with an empty XLA cache (cold: what a person
    sees the very first time), the rest warm (persistent XLA cache, as on every later run).
(b) The reference: `brax.training.agents.ppo.train` with MuJoCo Playground's published
    DM-Control PPO settings for CartpoleBalance (`dm_control_suite_params.brax_ppo_config`),
    scaled to 256 environments (num_envs 2048 -> 256 and batch_size 1024 -> 128, keeping the
    unrolls per update and everything else), on the same Playground environment, with Brax's
    own evaluator. It runs for `--budget-factor` x the slowest (a) time and stops at the first
    evaluation past that budget. If it has not reached (a)'s reward by then, (a) is at least
    that factor faster.

Usage:  uv run python bench/train_cpu.py [--repeats 3] [--budget-factor 5] [--skip-reference]
The machine is shared in development; medians are reported and the load average is recorded.
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


def run_tabrl(target: float, out: Path, max_steps: int | None) -> dict:
    """(a): the default CPU preset, stopping at the first evaluation >= target."""
    from tabrl.training import TrainRequest, preset_for, run_training

    cfg = preset_for("CartpoleBalance", "cpu").replace(stop_at_reward=target)
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
                f"  (a) {event.elapsed_s:6.1f}s step {event.step:>9,} reward {event.eval_reward_mean:7.1f}",
                flush=True,
            )

    start = time.perf_counter()
    result = run_training(TrainRequest("CartpoleBalance", out, config=cfg), on_event=on_event)
    wall = time.perf_counter() - start
    sps = [c["sps"] for c in curve[1:] if c["sps"]]  # the first interval includes the compile
    return {
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
    # One evaluation per Brax iteration (num_resets_per_eval=10 epochs of one update each):
    # as fine-grained as these settings allow, so the time at which a reward is reached is known.
    per_iter = (
        rl["batch_size"] * rl["unroll_length"] * rl["num_minibatches"] * max(1, rl["num_resets_per_eval"])
    )
    # Brax runs ceil(steps / (evals_after_init * per_iter)) updates per epoch: round up so that is 1.
    rl["num_evals"] = -(-rl["num_timesteps"] // per_iter) + 1
    return rl


def run_reference(budget_s: float, target: float) -> dict:
    """(b): Brax PPO with the reference settings until the first evaluation past `budget_s`."""
    from brax.training.agents.ppo import train as ppo
    from mujoco_playground import wrapper

    from tabrl.scenes import load_scene

    rl = reference_config()
    curve: list[dict] = []
    start = time.perf_counter()

    class _Budget(Exception):
        pass

    def progress(step: int, metrics: dict) -> None:
        t = time.perf_counter() - start
        reward = float(metrics.get("eval/episode_reward", float("nan")))
        curve.append({"t": round(t, 2), "step": int(step), "reward": round(reward, 1)})
        print(f"  (b) {t:6.1f}s step {step:>9,} reward {reward:7.1f}", flush=True)
        if t >= budget_s or reward >= target:
            raise _Budget

    env = load_scene("CartpoleBalance").env
    with contextlib.suppress(_Budget):
        ppo.train(environment=env, wrap_env_fn=wrapper.wrap_for_brax_training, progress_fn=progress, **rl)
    wall = time.perf_counter() - start
    reached = [c for c in curve if c["reward"] >= target]
    return {
        "wall_s": round(wall, 2),
        "budget_s": round(budget_s, 1),
        "reached": bool(reached),
        "time_to_target_s": reached[0]["t"] if reached else None,
        "final_reward": curve[-1]["reward"] if curve else None,
        "final_step": curve[-1]["step"] if curve else None,
        "curve": curve,
        "config": rl,
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--target", type=float, default=900.0)
    parser.add_argument("--repeats", type=int, default=3, help="(a) runs: 1 cold + the rest warm")
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
    from tabrl.training.runner import configure_xla_for_cpu

    configure_xla_for_cpu()
    import jax

    from tabrl.runtime import configure_jax

    configure_jax()
    import_s = time.perf_counter() - _T_PROCESS
    report: dict = {
        "machine": {"cpus": os.cpu_count(), "load_avg_start": os.getloadavg(), "jax": jax.__version__,
                    "backend": jax.default_backend(), "xla_flags": os.environ.get("XLA_FLAGS", "")},
        "target": args.target,
        "import_s": round(import_s, 2),
        "xla_cache": str(cache),
    }  # fmt: skip
    runs = []
    with tempfile.TemporaryDirectory(prefix="tabrl-bench-") as tmp:
        for i in range(args.repeats):
            label = "cold" if i == 0 else "warm"
            print(f"(a) run {i + 1}/{args.repeats} ({label} XLA cache)", flush=True)
            run = run_tabrl(args.target, Path(tmp) / f"a{i}", args.max_steps)
            run["cache"] = label
            runs.append(run)
    warm = [r["wall_s"] for r in runs if r["cache"] == "warm"]
    report["a"] = {
        "runs": runs,
        "cold_wall_s": runs[0]["wall_s"],
        "warm_wall_s_median": round(statistics.median(warm), 2) if warm else None,
        "all_reached": all(r["reached"] for r in runs),
        "train_env_steps_per_s_median": statistics.median(
            [r["train_env_steps_per_s_median"] for r in runs if r["train_env_steps_per_s_median"]] or [0]
        ),
    }
    if not args.skip_reference:
        slowest = max(r["wall_s"] for r in runs)
        budget = args.reference_budget or args.budget_factor * slowest
        print(f"(b) reference for {budget:.0f} s (the slowest (a) run took {slowest:.0f} s)", flush=True)
        ref = run_reference(budget, args.target)
        report["b"] = ref
        a_time = statistics.median(r["wall_s"] for r in runs)
        if not report["a"]["all_reached"]:
            report["speedup"] = {"value": None, "kind": "none: (a) did not reach the target"}
        elif ref["reached"]:
            report["speedup"] = {"value": round(ref["time_to_target_s"] / a_time, 2), "kind": "measured"}
        else:
            report["speedup"] = {
                "value": round(ref["wall_s"] / a_time, 2),
                "kind": "lower bound: (b) had not reached the target when it stopped",
            }
    report["load_avg_end"] = os.getloadavg()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")

    a = report["a"]
    print(f"\n=== CartpoleBalance to eval reward >= {args.target:g} on {os.cpu_count() or 0} CPU cores ===")
    print(f"(a) TabRL CPU preset: cold {a['cold_wall_s']:.1f} s, warm median {a['warm_wall_s_median']} s, "
          f"all reached: {a['all_reached']}, training {a['train_env_steps_per_s_median']:,} env-steps/s "
          f"(+ {import_s:.1f} s Python/JAX import, once per process)")  # fmt: skip
    if "b" in report:
        b = report["b"]
        print(f"(b) Brax + Playground settings @256 envs: {b['final_reward']} after {b['final_step']:,} steps / "
              f"{b['wall_s']:.0f} s; reached target: {b['reached']}")  # fmt: skip
        print(f"speedup: {report['speedup']['value']}x ({report['speedup']['kind']})")
    print(f"report: {args.out}")
    return 0 if a["all_reached"] else 1


if __name__ == "__main__":
    sys.exit(main())
