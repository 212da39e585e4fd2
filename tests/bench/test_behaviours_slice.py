"""A slice of the behaviour benchmark in CI: one case end to end through the real CLI.

`tabrl teach` (offline composer, the "minutes" budget's levels, 500 k steps each) trains every approach in worker
processes, judges and ranks them; the case's own, independent check then judges the top-ranked
policy. CartpoleBalance "balance the pole": its base policy balances, so the fine-tuned approaches
must still do (heavy: real training, several minutes on 2 cores). Also: the approaches a commit
generates, written without training (`--approaches`).
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

_BENCH = Path(__file__).resolve().parents[2] / "bench" / "behaviours.py"


def _bench():
    spec = importlib.util.spec_from_file_location("tabrl_bench_behaviours", _BENCH)
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


@pytest.mark.heavy
@pytest.mark.timeout(2400)
def test_one_case_end_to_end_through_the_cli() -> None:
    bench = _bench()
    case = next(c for c in bench.CASES if c.key == "cartpole-balance")
    # 500 k steps per approach instead of the budget's plan (1.5 M): the approaches fine-tune a base
    # that balances already, and CI's time is shared by every heavy test.
    extra = ["--set", "num_evals=3", "--steps", "500000"]
    result = bench.run_case(case, "offline", "minutes", extra, timeout_s=2000)
    rows = result["approaches"]
    assert len(rows) == 3 and [r["rank"] for r in rows] == [1, 2, 3]
    assert all(r["status"] == "succeeded" for r in rows), [r.get("error") for r in rows]
    # Every approach was judged by its own check (written with it) and by the case's.
    assert all(r["check"] is not None and r["case"] is not None for r in rows), rows
    assert result["top_passed"], [r["case"]["figure"] for r in rows]


@pytest.mark.timeout(600)
def test_the_approaches_a_commit_generates_are_written_without_training(tmp_path: Path) -> None:
    # Not heavy: generation only (the offline composer through `tabrl generate --json`), twice, to
    # show the file is what a commit writes, the same every time, so commits can be compared by it.
    bench = _bench()
    first, second = tmp_path / "a.json", tmp_path / "b.json"
    for path in (first, second):
        assert bench.main(["--cases", "cartpole-right", "--approaches", str(path)]) == 0
    assert first.read_text() == second.read_text()
    doc = json.loads(first.read_text())["offline/cartpole-right"]
    assert len(doc["approaches"]) == 3
    for a in doc["approaches"]:
        assert "compute_reward" in a["reward_code"] and "GOALS" in a["success_check"] and a["steps"] > 0
        assert "estimate_s" not in a  # a time estimate, not what trains
