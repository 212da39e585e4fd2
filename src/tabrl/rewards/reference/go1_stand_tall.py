# ruff: noqa: F821  (reward code: jnp, tolerance, gaussian, exponential, pi are injected)
"""Go1 (Menagerie): stand still and tall, trunk level, all four feet planted."""

WEIGHTS = {"height": 1.0, "upright": 1.0, "feet": 0.5, "still": 0.5, "torque": 0.001}


def compute_reward(s, action):
    return {
        "height": tolerance(s.body_height(s.base), bounds=(0.32, 0.4), margin=0.15),
        "upright": s.body_upright(s.base),
        "feet": jnp.mean(s.feet_contact()),
        "still": exponential(jnp.linalg.norm(s.com_vel()), 0.2),
        "torque": -jnp.sum(jnp.square(s.actuator_forces())),
    }
