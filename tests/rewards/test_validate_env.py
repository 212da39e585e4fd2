"""MJX environment vs MuJoCo C: `validate_env` and the `tabrl validate-env` command."""

from __future__ import annotations

import pytest

from tabrl.rewards import validate_env
from tabrl.rewards.reference import get_reference


def test_cartpole_matches_mujoco_c() -> None:
    report = validate_env("CartpoleBalance", get_reference("cartpole_drift_right").code, steps=25)
    assert report.ok, report.to_dict()
    assert report.steps == 25
    assert set(report.max_dterm) == {"upright", "drift", "small_control"}
    assert report.max_dqpos < 1e-4 and report.max_dqvel < 1e-3


@pytest.mark.heavy
@pytest.mark.timeout(900)
def test_menagerie_go1_matches_mujoco_c() -> None:
    # Feet contacts, centre-of-mass velocity and actuator forces are all compared.
    report = validate_env("unitree_go1", get_reference("go1_stand_tall").code, steps=10)
    assert report.ok, report.to_dict()
    assert {"feet", "still", "torque"} <= set(report.max_dterm)
