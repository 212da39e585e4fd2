# ruff: noqa: F821  (reward code: jnp, tolerance, gaussian, exponential, pi are injected)
"""Go1 joystick, turning stage: the joystick reward with turning weighted up (3x).

The last stage of `tabrl base train go1-joystick` (see `tabrl.training.base`).
"""

# Tracking is scored relative to the command's own size: 1 when the velocity matches it, falling
# linearly to 0 once the error reaches the command's magnitude (+ a small floor). Standing still then
# scores about the same low value for a slow or a fast command, so walking pays off for every
# command -- with a fixed error scale, standing still was nearly as good as walking for the many
# small commands and the policy never left it (measured: 6 M steps, no movement).
# A sharper exponential term rewards precision once the robot tracks.

WEIGHTS = {
    "track_lin": 2.0,
    "track_yaw": 3.0,
    "precise": 0.5,
    "vertical": 0.5,
    "tilt_rate": 0.05,
    "upright": 0.5,
    "height": 0.5,
    "smooth": 0.02,
    "pose": 0.05,
}


def compute_reward(s, action):
    cmd = s.command
    vel = s.body_linvel(s.base, local=True)
    ang = s.body_angvel(s.base, local=True)
    lin_err = jnp.sqrt(jnp.sum(jnp.square(cmd[:2] - vel[:2])) + 1e-6)
    yaw_err = jnp.abs(cmd[2] - ang[2])
    lin_scale = jnp.sqrt(jnp.sum(jnp.square(cmd[:2]))) + 0.2
    # Yaw is scored on the squared relative error with a wide floor: a walking gait's trunk sways
    # (+-0.3 rad/s); a strict linear yaw score made every step cost more than standing still.
    yaw_scale = jnp.abs(cmd[2]) + 0.6
    return {
        "track_lin": 1.0 - jnp.clip(lin_err / lin_scale, 0.0, 1.0),
        "track_yaw": 1.0 - jnp.clip(jnp.square(yaw_err / yaw_scale), 0.0, 1.0),
        "precise": jnp.exp(-(jnp.square(lin_err) + jnp.square(yaw_err)) / 0.1),
        "vertical": -jnp.square(vel[2]),
        "tilt_rate": -jnp.sum(jnp.square(ang[:2])),
        "upright": s.body_upright(s.base),
        "height": tolerance(s.body_height(s.base), bounds=(0.24, 0.34), margin=0.1),
        "smooth": -jnp.sum(jnp.square(action - s.prev_action)),
        "pose": -jnp.sum(jnp.square(s.joint_angles() - s.default_pose)),
    }
