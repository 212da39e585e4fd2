# ruff: noqa: F821  (reward code: jnp, tolerance, gaussian, exponential, pi are injected)
"""Cartpole: keep the pole balanced while the cart drifts right at about 0.3 m/s."""

WEIGHTS = {"upright": 1.0, "drift": 0.5, "small_control": 0.1}


def compute_reward(s, action):
    return {
        "upright": (s.body_upright("pole_1") + 1.0) / 2.0,
        "drift": tolerance(s.joint_vel("slider"), bounds=(0.2, 0.4), margin=0.3),
        "small_control": -jnp.sum(jnp.square(action)),
    }
