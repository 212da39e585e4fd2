# ruff: noqa: F821  (reward code: jnp, tolerance, gaussian, exponential, pi are injected)
"""Pendulum: swing up from hanging and hold the pole upright, calm at the top."""

WEIGHTS = {"upright": 1.0, "calm_at_top": 0.3, "effort": 0.05}


def compute_reward(s, action):
    up = s.body_upright("pole")
    near_top = tolerance(up, bounds=(0.95, 1.0), margin=1.95, sigmoid="linear", value_at_margin=0.0)
    return {
        "upright": (up + 1.0) / 2.0,
        "calm_at_top": near_top * exponential(s.joint_vel("hinge"), 2.0),
        "effort": -jnp.sum(jnp.square(action)),
    }
