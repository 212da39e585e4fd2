# ruff: noqa: F821  (reward code: jnp, tolerance, gaussian, exponential, pi are injected)
"""Go1: walk forward at about 0.8 m/s with a level trunk at a steady height."""

# The speed term rises linearly from standing still to the target band: a gradient from the start.

WEIGHTS = {
    "forward": 2.0,
    "lateral": 0.5,
    "upright": 0.5,
    "height": 0.5,
    "yaw_rate": 0.3,
    "smooth": 0.02,
    "pose": 0.1,
}


def compute_reward(s, action):
    vel = s.body_linvel(s.base, local=True)
    return {
        "forward": tolerance(vel[0], bounds=(0.7, 1.0), margin=0.7, sigmoid="linear", value_at_margin=0.0),
        "lateral": -jnp.square(vel[1]),
        "upright": s.body_upright(s.base),
        "height": tolerance(s.body_height(s.base), bounds=(0.24, 0.34), margin=0.1),
        "yaw_rate": -jnp.square(s.body_angvel(s.base)[2]),
        "smooth": -jnp.sum(jnp.square(action - s.prev_action)),
        "pose": -jnp.sum(jnp.square(s.joint_angles() - s.default_pose)),
    }
