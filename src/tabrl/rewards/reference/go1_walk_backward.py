# ruff: noqa: F821  (reward code: jnp, tolerance, gaussian, exponential, pi are injected)
"""Go1: walk backward at about 0.5 m/s without turning, trunk level."""

WEIGHTS = {"backward": 2.0, "lateral": 0.5, "upright": 0.5, "height": 0.5, "heading": 0.5, "smooth": 0.02}
TARGET_SPEED = -0.5


def compute_reward(s, action):
    vel = s.body_linvel(s.base, local=True)
    return {
        "backward": gaussian(vel[0] - TARGET_SPEED, 0.2),
        "lateral": -jnp.square(vel[1]),
        "upright": s.body_upright(s.base),
        "height": tolerance(s.body_height(s.base), bounds=(0.24, 0.34), margin=0.1),
        "heading": gaussian(s.body_angvel(s.base)[2], 0.3),
        "smooth": -jnp.sum(jnp.square(action - s.prev_action)),
    }
