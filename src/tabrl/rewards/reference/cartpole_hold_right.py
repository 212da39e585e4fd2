# ruff: noqa: F821  (reward code: jnp, tolerance, gaussian, exponential, pi are injected)
"""Cartpole: keep the pole balanced with the cart parked 1 m to the right of centre."""

WEIGHTS = {"upright": 1.0, "position": 1.0, "small_control": 0.1}


def compute_reward(s, action):
    up = s.body_upright("pole_1")
    # Being in place only counts with the pole up: dropping the pole to reach the spot never pays.
    balanced = tolerance(up, bounds=(0.95, 1.0), margin=0.5)
    return {
        "upright": (up + 1.0) / 2.0,
        "position": balanced * tolerance(s.joint_angle("slider"), bounds=(0.9, 1.1), margin=1.0),
        "small_control": -jnp.sum(jnp.square(action)),
    }
