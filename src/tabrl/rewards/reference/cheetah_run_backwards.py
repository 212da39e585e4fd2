# ruff: noqa: F821  (reward code: jnp, tolerance, gaussian, exponential, pi are injected)
"""Cheetah: run backwards (towards -x) as fast as possible, up to 8 m/s, without flipping."""

WEIGHTS = {"backward_speed": 1.0, "not_flipped": 0.2}
TARGET_SPEED = 8.0


def compute_reward(s, action):
    speed = -s.body_linvel("torso")[0]
    return {
        "backward_speed": tolerance(
            speed, bounds=(TARGET_SPEED, 1e6), margin=TARGET_SPEED, sigmoid="linear", value_at_margin=0.0
        ),
        "not_flipped": s.body_upright("torso"),
    }
