# ruff: noqa: F821  (reward code: jnp, tolerance, gaussian, exponential, pi are injected)
"""Cartpole: keep the pole balanced with the cart parked 1 m to the right of centre."""

WEIGHTS = {"upright": 1.0, "position": 1.0, "small_control": 0.1}


def compute_reward(s, action):
    return {
        "upright": (s.body_upright("pole_1") + 1.0) / 2.0,
        "position": tolerance(s.joint_angle("slider"), bounds=(0.9, 1.1), margin=1.0),
        "small_control": -jnp.sum(jnp.square(action)),
    }
