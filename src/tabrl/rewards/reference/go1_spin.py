# ruff: noqa: F821  (reward code: jnp, tolerance, gaussian, exponential, pi are injected)
"""Go1: spin in place counter-clockwise at about 1.5 rad/s without drifting."""

WEIGHTS = {"spin": 2.0, "stay": 1.0, "upright": 0.5, "height": 0.3, "smooth": 0.02}
TARGET_YAW_RATE = 1.5


def compute_reward(s, action):
    yaw_rate = s.body_angvel(s.base)[2]
    planar_speed = jnp.linalg.norm(s.body_linvel(s.base)[:2])
    return {
        "spin": tolerance(
            yaw_rate, bounds=(TARGET_YAW_RATE, 3.0), margin=1.5, sigmoid="linear", value_at_margin=0.0
        ),
        "stay": exponential(planar_speed, 0.2),
        "upright": s.body_upright(s.base),
        "height": tolerance(s.body_height(s.base), bounds=(0.22, 0.34), margin=0.1),
        "smooth": -jnp.sum(jnp.square(action - s.prev_action)),
    }
