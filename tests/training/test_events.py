"""Progress events serialise to one JSON line; cancel tokens work in-process and across processes."""

from __future__ import annotations

import json
from pathlib import Path

from tabrl.training.estimates import estimate, format_duration
from tabrl.training.events import CancelToken, ProgressEvent


def test_event_json_is_one_line_with_nan_as_null() -> None:
    event = ProgressEvent(
        kind="eval",
        run_id="r",
        scene_id="CartpoleBalance",
        step=500,
        total_steps=1000,
        elapsed_s=3.0,
        eta_s=3.0,
        eval_reward_mean=float("nan"),
        eval_reward_std=1.0,
        reward_terms={"upright": 0.9},
    )
    line = event.to_json()
    assert "\n" not in line
    data = json.loads(line)
    assert data["event"] == "eval" and data["eval_reward_mean"] is None
    assert data["reward_terms"] == {"upright": 0.9}
    assert event.fraction == 0.5 and not event.terminal


def test_cancel_token_in_process_and_by_file(tmp_path: Path) -> None:
    token = CancelToken()
    assert not token.cancelled
    token.cancel()
    assert token.cancelled

    flag = tmp_path / "cancel"
    seen_by_worker = CancelToken(flag)
    assert not seen_by_worker.cancelled
    CancelToken(flag).cancel()  # e.g. the server process
    assert seen_by_worker.cancelled


def test_estimates_label_their_basis() -> None:
    measured = estimate("CartpoleBalance", "cpu", 1_000_000)
    assert measured.basis == "measured" and measured.total_s > measured.compile_s
    guessed = estimate("SomethingElse", "cpu", 1_000_000)
    assert guessed.basis == "estimate" and "rough estimate" in guessed.describe()
    assert (
        format_duration(30) == "30 s"
        and format_duration(600) == "10 min"
        and format_duration(7200) == "2.0 h"
    )
