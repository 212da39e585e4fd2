"""`tabrl reward check` and `tabrl validate-env` exit codes and JSON."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tabrl.cli import _register, app
from tabrl.rewards.reference import get_reference

runner = CliRunner()


@pytest.fixture(scope="module", autouse=True)
def _commands() -> None:
    _register()


def test_check_valid_file_exits_0(tmp_path: Path) -> None:
    path = tmp_path / "r.py"
    path.write_text(get_reference("cartpole_drift_right").code)
    result = runner.invoke(app, ["reward", "check", str(path), "--scene", "CartpoleBalance", "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["valid"] is True and doc["errors"] == [] and "upright" in doc["terms"]


def test_check_invalid_file_exits_2(tmp_path: Path) -> None:
    path = tmp_path / "bad.py"
    path.write_text('import os\n\ndef compute_reward(s, action):\n    return {"x": s.body_pos("nope")[0]}\n')
    result = runner.invoke(app, ["reward", "check", str(path), "--scene", "CartpoleBalance", "--json"])
    assert result.exit_code == 2, result.output
    doc = json.loads(result.stdout)
    assert doc["valid"] is False and doc["terms"] == []
    assert doc["errors"][0] == {"line": 1, "message": doc["errors"][0]["message"]}
    human = runner.invoke(app, ["reward", "check", str(path), "--scene", "CartpoleBalance"])
    assert human.exit_code == 2 and "imports are not allowed" in human.output


def test_reward_list_and_validate_env(tmp_path: Path) -> None:
    listed = runner.invoke(app, ["reward", "list", "--json"])
    assert listed.exit_code == 0 and len(json.loads(listed.stdout)) >= 10
    path = tmp_path / "r.py"
    path.write_text(get_reference("cartpole_drift_right").code)
    result = runner.invoke(
        app, ["validate-env", "CartpoleBalance", "--steps", "5", "--reward", str(path), "--json"]
    )
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["ok"] is True and doc["steps"] == 5 and "max_dqpos" in doc and "drift" in doc["max_dterm"]
