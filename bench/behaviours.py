"""Behaviour benchmark: does the robot do what the prompt asked? Prompt -> `tabrl teach` -> an
independent check on deterministic rollouts of every approach it trained.

Each case is a scene, a prompt and a success check written here, by hand, independently of the
checks the approaches carry (the composer's or an LLM's): the approach's own check ranks them; this
one judges them. Everything goes through the real CLI (`tabrl teach --json`, then `tabrl check
POLICY CASE_CHECK --json`), in a fresh TABRL_HOME, so it measures what a person gets.

Prints, per case and per provider: whether the top-ranked approach passes, whether any does, each
approach's figure, and the time spent; then the pass rates. The target (issue #16): with the
offline composer, at least 80 % top-ranked within the standard CPU budget: `--budget unlimited` (the
default), where each approach trains the standard preset's steps (`tabrl.training.levels.plan_steps`,
the same plan as the web UI; the composer no longer sets steps of its own).

    uv run python bench/behaviours.py                       # every case, offline composer
    uv run python bench/behaviours.py --cases cartpole-right cheetah-backwards
    uv run python bench/behaviours.py --provider offline --provider anthropic --json out.json
    uv run python bench/behaviours.py --list

A full run trains 3 approaches per case on the CPU: hours on 2 cores; pick cases for a quick look.
Take figures on a quiet machine and note the load average.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Case:
    """A prompt on a scene and the independent check that says whether the robot did it."""

    key: str
    scene: str
    prompt: str
    check: str


def _check(measures: str, goals: str, settle: float = 0.0) -> str:
    body = "\n".join(f"        {line}" for line in measures.strip().splitlines())
    settle_line = f"SETTLE_S = {settle}\n" if settle else ""
    return f"def measure(s):\n    return {{\n{body}\n    }}\n\nGOALS = {goals}\n{settle_line}"


_UP = '"upright": s.body_upright("pole_1") > 0.9,'
_SPEED = '"speed": s.joint_vel("rootx"),'

CASES: tuple[Case, ...] = (
    Case("cartpole-balance", "CartpoleBalance", "balance the pole", _check(_UP, '{"upright": ">= 0.9"}')),
    Case(
        "cartpole-right", "CartpoleBalance",
        "balance the pole while keeping the cart on the right side of the track",
        _check(f'{_UP}\n"cart_x": s.joint_angle("slider"),', '{"upright": ">= 0.8", "cart_x": "> 0.2"}'),
    ),
    Case(
        "cartpole-left", "CartpoleBalance", "keep the pole up with the cart on the left",
        _check(f'{_UP}\n"cart_x": s.joint_angle("slider"),', '{"upright": ">= 0.8", "cart_x": "< -0.2"}'),
    ),
    Case(
        "cartpole-swingup", "CartpoleSwingup", "swing the pole up and keep it upright",
        _check(_UP, '{"upright": ">= 0.6"}', settle=3.0),
    ),
    Case(
        "pendulum-swingup", "PendulumSwingup", "swing up and hold the pendulum upright at the top",
        _check('"upright": s.body_upright("pole") > 0.9,', '{"upright": ">= 0.5"}', settle=3.0),
    ),
    Case(
        "acrobot-swingup", "AcrobotSwingup", "swing the acrobot up so its tip is high",
        _check('"tip_high": s.site_pos("tip")[2] > 1.5,', '{"tip_high": ">= 0.3"}', settle=3.0),
    ),
    Case("cheetah-run", "CheetahRun", "run forward fast", _check(_SPEED, '{"speed": "> 1.5"}')),
    Case(
        "cheetah-backwards", "CheetahRun", "run backwards as fast as possible",
        _check(_SPEED, '{"speed": "< -1.0"}'),
    ),
    Case(
        "cheetah-still", "CheetahRun", "stand still on the spot",
        _check('"moving": jnp.abs(s.joint_vel("rootx")) > 0.3,', '{"moving": "<= 0.2"}'),
    ),
    Case("hopper-hop", "HopperHop", "hop forward", _check(_SPEED, '{"speed": "> 0.3"}')),
    Case(
        "walker-walk", "WalkerWalk", "walk forward",
        _check(f'{_SPEED}\n"up": s.body_height("torso") > 0.9,', '{"speed": "> 0.5", "up": ">= 0.8"}'),
    ),
    Case(
        "walker-stand", "WalkerStand", "stand up tall",
        _check('"tall": s.body_height("torso") > 1.0,', '{"tall": ">= 0.8"}', settle=2.0),
    ),
    Case(
        "reacher-reach", "ReacherEasy", "touch the target with the fingertip",
        _check(
            '"close": jnp.linalg.norm(s.geom_pos("finger")[:2] - s.geom_pos("target")[:2]) < 0.05,',
            '{"close": ">= 0.5"}', settle=2.0,
        ),
    ),
    Case(
        "finger-spin", "FingerSpin", "spin the object as fast as you can",
        _check('"spin": jnp.abs(s.joint_vel("hinge")),', '{"spin": "> 5.0"}'),
    ),
    Case(
        "go1-backwards", "Go1JoystickFlatTerrain", "walk backwards",
        _check(
            '"forward": s.body_linvel(s.base, local=True)[0],\n"upright": s.body_upright(s.base) > 0.8,',
            '{"forward": "< -0.2", "upright": ">= 0.9"}', settle=1.0,
        ),
    ),
    Case(
        "go1-forward", "Go1JoystickFlatTerrain", "walk forward steadily",
        _check(
            '"forward": s.body_linvel(s.base, local=True)[0],\n"upright": s.body_upright(s.base) > 0.8,',
            '{"forward": "> 0.3", "upright": ">= 0.9"}', settle=1.0,
        ),
    ),
    Case(
        "go1-turn", "Go1JoystickFlatTerrain", "turn on the spot to the left",
        _check('"yaw_rate": s.body_angvel(s.base)[2],', '{"yaw_rate": "> 0.4"}', settle=1.0),
    ),
)  # fmt: skip


def _tabrl(args: list[str], env: dict[str, str], timeout_s: float) -> dict:
    """Run the CLI; its stdout is one JSON document, or its last line is."""
    proc = subprocess.run(
        [sys.executable, "-m", "tabrl.cli", *args], env=env, capture_output=True, text=True, timeout=timeout_s
    )
    try:
        return json.loads(proc.stdout)  # one (indented) document: `tabrl generate --json`
    except json.JSONDecodeError:
        pass
    lines = [line for line in proc.stdout.splitlines() if line.strip().startswith("{")]
    if not lines:
        raise RuntimeError(f"tabrl {' '.join(args[:3])} failed ({proc.returncode}): {proc.stderr[-1500:]}")
    return json.loads(lines[-1])


def run_case(case: Case, provider: str, budget: str, extra: list[str], timeout_s: float) -> dict:
    """Teach the case's prompt, then judge every approach with the case's own check."""
    with tempfile.TemporaryDirectory(prefix="tabrl-bench-") as home:
        env = {**os.environ, "TABRL_HOME": home}
        check_file = Path(home) / "case_check.py"
        check_file.write_text(case.check)
        start = time.perf_counter()
        taught = _tabrl(
            ["teach", "--scene", case.scene, case.prompt, "--json", "--provider", provider, "--budget", budget,
             *extra],
            env, timeout_s,
        )  # fmt: skip
        teach_s = time.perf_counter() - start
        judged = []
        for row in taught["ranking"]:
            if not row.get("policy_dir"):
                judged.append({**row, "case": None})
                continue
            verdict = _tabrl(["check", row["policy_dir"], str(check_file), "--json"], env, 900)
            judged.append({**row, "case": verdict})
    return {
        "case": case.key, "scene": case.scene, "prompt": case.prompt, "provider": provider,
        "top_passed": bool(judged and judged[0]["case"] and judged[0]["case"]["passed"]),
        "any_passed": any(r["case"] and r["case"]["passed"] for r in judged),
        "teach_s": round(teach_s, 1), "total_s": round(time.perf_counter() - start, 1), "approaches": judged,
    }  # fmt: skip


def _print(result: dict) -> None:
    top = "PASS" if result["top_passed"] else "fail"
    any_ = "yes" if result["any_passed"] else "no"
    print(f"\n{result['case']} [{result['provider']}] {result['scene']}: {result['prompt']!r}")
    print(f"  top-ranked {top}, any approach passes: {any_}; teach {result['teach_s']:.0f} s")
    for r in result["approaches"]:
        own = r["check"]["figure"] if r.get("check") else "no own check"
        case = r["case"]["figure"] if r.get("case") else r.get("error") or r["status"]
        mark = "+" if r.get("case") and r["case"]["passed"] else "-"
        print(f"  {mark} #{r['rank']} {r['name']}: case check: {case} | own check: {own}")


def _write_approaches(path: Path, cases: list[Case], providers: list[str], budget: str) -> None:
    """`tabrl generate --json` for every case and provider, without the time it took, into `path`."""
    out = {}
    for provider in providers:
        for case in cases:
            doc = _tabrl(["generate", "--scene", case.scene, case.prompt, "--json", "--provider", provider,
                          "--budget", budget], os.environ.copy(), 600)  # fmt: skip
            # Not the times: how long generation took, and each approach's queue estimate (a table of
            # this machine's throughput), which say nothing of what trains.
            doc["approaches"] = [{k: v for k, v in a.items() if k != "estimate_s"} for a in doc["approaches"]]
            out[f"{provider}/{case.key}"] = {k: v for k, v in doc.items() if not k.endswith("_s")}
    path.write_text(json.dumps(out, indent=1, sort_keys=True))
    print(f"wrote the approaches of {len(out)} case(s) to {path}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--cases", nargs="*", help="Case keys (default: all; --list shows them).")
    parser.add_argument("--provider", action="append", help="Provider(s) (default: offline).")
    parser.add_argument(
        "--budget",
        default="unlimited",
        help="instant | minutes | unlimited (default: unlimited: each approach trains the standard preset's "
        "steps, the standard CPU budget; minutes: the quick preset's).",
    )
    parser.add_argument("--set", action="append", default=[], help="Training override for every case.")
    parser.add_argument("--steps", type=int, help="Steps per approach instead of the plan's.")
    parser.add_argument("--timeout", type=float, default=7200.0, help="Seconds per case.")
    parser.add_argument("--json", type=Path, help="Also write the results here.")
    parser.add_argument("--list", action="store_true", help="List the cases and exit.")
    parser.add_argument(
        "--approaches",
        type=Path,
        help="Write what the provider generates for each chosen case here (`tabrl generate --json`) and exit, "
        "training nothing: two commits that generate the same approaches (and train them the same way) "
        "train the same policies, so a case measured on one stands for the other.",
    )
    args = parser.parse_args(argv)
    if args.list:
        for c in CASES:
            print(f"{c.key:20s} {c.scene:24s} {c.prompt}")
        return 0
    chosen = [c for c in CASES if not args.cases or c.key in args.cases]
    unknown = set(args.cases or ()) - {c.key for c in CASES}
    if unknown:
        parser.error(f"unknown cases {sorted(unknown)}; --list shows them")
    if args.approaches:
        _write_approaches(args.approaches, chosen, args.provider or ["offline"], args.budget)
        return 0
    extra = [x for s in args.set for x in ("--set", s)] + (["--steps", str(args.steps)] if args.steps else [])
    print(f"load average at start: {os.getloadavg()[0]:.2f} (take figures on a quiet machine)")
    results = []
    for provider in args.provider or ["offline"]:
        for case in chosen:
            try:
                result = run_case(case, provider, args.budget, extra, args.timeout)
            except (RuntimeError, subprocess.TimeoutExpired) as exc:
                result = {"case": case.key, "scene": case.scene, "prompt": case.prompt, "provider": provider,
                          "top_passed": False, "any_passed": False, "error": str(exc)[:2000], "approaches": [],
                          "teach_s": None, "total_s": None}  # fmt: skip
                print(f"\n{case.key} [{provider}]: ERROR {str(exc)[:400]}")
            else:
                _print(result)
            results.append(result)
    print("\nSummary (top-ranked pass rate / any-approach pass rate / time):")
    for provider in args.provider or ["offline"]:
        rows = [r for r in results if r["provider"] == provider]
        top = sum(r["top_passed"] for r in rows)
        any_ = sum(r["any_passed"] for r in rows)
        spent = sum(r["total_s"] or 0 for r in rows)
        print(f"  {provider}: {top}/{len(rows)} top-ranked ({top / max(1, len(rows)):.0%}), "
              f"{any_}/{len(rows)} any ({any_ / max(1, len(rows)):.0%}), {spent / 60:.1f} min; target >= 80 % top-ranked")  # fmt: skip
    print(f"load average at end: {os.getloadavg()[0]:.2f}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
