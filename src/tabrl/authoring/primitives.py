"""Reward primitives: small, robot-parametrised pieces of reward code.

Each primitive takes a `RobotProfile` and a few numbers and returns the `Term`s it
contributes (empty when it does not apply to that robot, e.g. feet terms on a cart-pole).
The composer combines primitives into whole reward modules that follow TabRL's reward
contract (`WEIGHTS`, `compute_reward(s, action)` returning named scalar terms).

Terms are plain expressions over the semantic state `s`; shared sub-expressions (a
phase wave, the base's local velocity) are `setup` lines emitted once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from tabrl.authoring.profile import ActJoint, RobotProfile


@dataclass(frozen=True)
class Term:
    """One named reward term: `name = expr`, scaled by `weight`, after its `setup` lines."""

    name: str
    expr: str
    weight: float
    setup: tuple[str, ...] = ()
    #: One clause for the approach's description ("rewards forward speed near 0.5 m/s").
    says: str = ""


def _f(x: float) -> str:
    """A float literal that reads well in generated code."""
    return repr(round(float(x), 4))


def _q(name: str) -> str:
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _vel(p: RobotProfile) -> tuple[str, tuple[str, ...]]:
    # Floating bases move "forward" in their own heading; planar ones along world x.
    if p.floating:
        return "vel", ("vel = s.body_linvel(s.base, local=True)",)
    return "vel", ("vel = s.body_linvel(s.base)",)


def _wave(freq: float, square: bool = False) -> tuple[str, tuple[str, ...]]:
    tag = str(round(freq, 3)).replace(".", "_")
    name = f"{'beat' if square else 'wave'}_{tag}"
    sine = f"jnp.sin(2.0 * pi * s.phase({_f(freq)}))"
    # A smoothed square wave (tanh of a scaled sine): snappy, but still differentiable.
    expr = f"jnp.tanh(4.0 * {sine})" if square else sine
    return name, (f"{name} = {expr}",)


# --- Locomotion -------------------------------------------------------------------------


def move(p: RobotProfile, speed: float = 0.6, lateral: float = 0.0, weight: float = 2.0) -> list[Term]:
    """Travel at `speed` m/s forward (negative: backward), optionally `lateral` m/s to the left."""
    if not p.moves or (lateral and "y" not in p.translate):
        return []
    v, setup = _vel(p)
    band = max(0.1, abs(speed) * 0.2)
    terms = [
        Term(
            "forward_speed" if speed >= 0 else "backward_speed",
            f"tolerance({v}[0], bounds=({_f(speed - band)}, {_f(speed + band)}), margin={_f(max(abs(speed), 0.3))}, "
            f'sigmoid="linear", value_at_margin=0.0)',
            weight,
            setup,
            f"travel {'forward' if speed >= 0 else 'backward'} at about {abs(speed):g} m/s",
        )
    ]
    if lateral:
        terms.append(
            Term(
                "sideways_speed",
                f"tolerance({v}[1], bounds=({_f(lateral - 0.1)}, {_f(lateral + 0.1)}), margin={_f(abs(lateral))}, "
                f'sigmoid="linear", value_at_margin=0.0)',
                weight,
                setup,
                f"drift sideways at {abs(lateral):g} m/s",
            )
        )
    return terms


def stay_in_place(p: RobotProfile, weight: float = 0.5) -> list[Term]:
    """Keep the base from drifting across the floor."""
    if not p.moves:
        return []
    v, setup = _vel(p)
    planar = f"jnp.sqrt({v}[0] ** 2 + {v}[1] ** 2)" if "y" in p.translate else f"jnp.abs({v}[0])"
    return [Term("stay_in_place", f"gaussian({planar}, 0.3)", weight, setup, "stay on the spot")]


def turn(p: RobotProfile, rate: float = 1.5, weight: float = 1.5) -> list[Term]:
    """Turn about the vertical at `rate` rad/s (a free joint spins when the base cannot yaw)."""
    if p.can_yaw:
        value = "s.body_angvel(s.base)[2]"
    elif p.spin_joint:
        value = f"s.joint_vel({_q(p.spin_joint)})"
    else:
        return []
    return [
        Term(
            "spin_rate",
            f'tolerance({value}, bounds=({_f(rate * 0.8)}, {_f(rate * 1.5)}), margin={_f(rate)}, sigmoid="linear", '
            f"value_at_margin=0.0)",
            weight,
            (),
            f"spin at about {rate:g} rad/s",
        )
    ]


def hold_heading(p: RobotProfile, weight: float = 0.3) -> list[Term]:
    """Do not wander off course: little yaw rate."""
    if not p.can_yaw:
        return []
    return [
        Term(
            "straight_heading",
            "gaussian(s.body_angvel(s.base)[2], 0.4)",
            weight,
            (),
            "keep a straight heading",
        )
    ]


def roll(p: RobotProfile, rate: float = 3.0, weight: float = 1.0) -> list[Term]:
    """Roll (or flip) about the body's long axis at `rate` rad/s."""
    if not ("x" in p.rotate or "y" in p.rotate):
        return []
    axis = 0 if "x" in p.rotate else 1
    return [
        Term(
            "roll_rate",
            f"jnp.tanh(jnp.abs(s.body_angvel(s.base)[{axis}]) / {_f(rate)})",
            weight,
            (),
            "roll or flip the body around",
        )
    ]


# --- Posture ------------------------------------------------------------------------------


def upright(p: RobotProfile, weight: float = 0.5, strict: bool = False) -> list[Term]:
    """Keep the posture body (base, or a pole's tip) pointing up."""
    body = "s.base" if p.posture_body == p.base else _q(p.posture_body)
    if strict:
        expr = f"tolerance(s.body_upright({body}), bounds=(0.95, 1.0), margin=0.5, value_at_margin=0.1)"
    else:
        expr = f"0.5 * (1.0 + s.body_upright({body}))"
    # Strict uprightness is a goal in itself (balancing); the loose form is a regulariser.
    return [
        Term(
            "balance" if strict else "upright",
            expr,
            weight,
            (),
            "balance upright" if strict else "stay upright",
        )
    ]


def hold_height(
    p: RobotProfile, fraction: float = 1.0, weight: float = 1.0, name: str = "height"
) -> list[Term]:
    """Hold the base at `fraction` of its standing height (crouch < 1 < stand tall)."""
    if not p.has_height or p.stand_height <= 0:
        return []
    h = p.stand_height * fraction
    band = 0.05 * p.stand_height
    return [
        Term(
            name,
            f"tolerance(s.body_height(s.base), bounds=({_f(h - band)}, {_f(h + band)}), margin={_f(0.4 * p.stand_height)})",
            weight,
            (),
            f"hold the body at about {h:.2f} m",
        )
    ]


def pitch(p: RobotProfile, up: bool = True, weight: float = 1.5) -> list[Term]:
    """Point the body's nose up (rear up) or down (handstand)."""
    if not p.can_pitch:
        return []
    # z-component of the body's x-axis from its quaternion (w, x, y, z).
    setup = ("q = s.body_quat(s.base)", "nose_z = 2.0 * (q[1] * q[3] - q[0] * q[2])")
    lo, hi = (0.7, 1.0) if up else (-1.0, -0.7)
    return [
        Term(
            "nose_up" if up else "nose_down",
            f'tolerance(nose_z, bounds=({_f(lo)}, {_f(hi)}), margin=0.7, sigmoid="linear", value_at_margin=0.0)',
            weight,
            setup,
            "pitch the body nose-up" if up else "pitch the body nose-down",
        )
    ]


def lift_feet(p: RobotProfile, which: str = "front", weight: float = 1.0) -> list[Term]:
    """Keep the `front` / `rear` feet off the ground."""
    feet = p.front_feet if which == "front" else p.rear_feet
    if not feet or len(feet) == len(p.feet):
        return []
    contacts = " + ".join(f"s.foot_contact({_q(f)})" for f in feet)
    return [
        Term(
            f"{which}_feet_up",
            f"1.0 - ({contacts}) / {len(feet)}.0",
            weight,
            (),
            f"keep the {which} feet ({', '.join(feet)}) in the air",
        )
    ]


def plant_feet(p: RobotProfile, which: str = "rear", weight: float = 0.5) -> list[Term]:
    """Keep the `front` / `rear` feet on the ground."""
    feet = p.front_feet if which == "front" else p.rear_feet
    if not feet or len(feet) == len(p.feet):
        return []
    contacts = " + ".join(f"s.foot_contact({_q(f)})" for f in feet)
    return [
        Term(
            f"{which}_feet_down",
            f"({contacts}) / {len(feet)}.0",
            weight,
            (),
            f"keep the {which} feet planted",
        )
    ]


# --- Vertical motion ----------------------------------------------------------------------


def jump(p: RobotProfile, weight: float = 1.5) -> list[Term]:
    """Push off upwards and spend time with every foot in the air."""
    if not p.has_height:
        return []
    terms = [Term("upward_push", "jnp.clip(s.body_linvel(s.base)[2], 0.0, 2.0)", weight, (), "push upwards")]
    if p.feet:
        terms.append(
            Term(
                "airtime",
                "1.0 - jnp.mean(s.feet_contact())",
                weight * 0.5,
                (),
                "spend time with all feet off the ground",
            )
        )
    return terms


def bounce(p: RobotProfile, freq: float = 1.0, amplitude: float = 0.1, weight: float = 1.5) -> list[Term]:
    """Bob up and down rhythmically: vertical speed follows a cosine at `freq` Hz."""
    if not p.has_height:
        return []
    peak = 2.0 * 3.14159 * freq * amplitude
    setup = (f"bob_target = {_f(peak)} * jnp.cos(2.0 * pi * s.phase({_f(freq)}))",)
    return [
        Term(
            "bounce_rhythm",
            f"gaussian(s.body_linvel(s.base)[2] - bob_target, {_f(max(peak * 0.5, 0.1))})",
            weight,
            setup,
            f"bob up and down about {amplitude * 100:.0f} cm at {freq:g} Hz",
        )
    ]


def airtime(p: RobotProfile, weight: float = 0.7) -> list[Term]:
    """Reward time with the feet off the ground (floaty, bounding motion)."""
    if not p.feet:
        return []
    return [
        Term("airtime", "1.0 - jnp.mean(s.feet_contact())", weight, (), "float with the feet off the ground")
    ]


# --- Rhythm and style -----------------------------------------------------------------------


def _joint_rhythm(joints: tuple[ActJoint, ...], wave: str, amplitude: float) -> str:
    # Neighbouring joints move in antiphase, so left and right (or front and back) alternate.
    parts = []
    for k, j in enumerate(joints):
        sign = "+" if k % 2 == 0 else "-"
        parts.append(
            f"(s.joint_angle({_q(j.name)}) - (s.default_pose[{j.index}] {sign} {_f(amplitude)} * {wave})) ** 2"
        )
    return " + ".join(parts)


def rhythm_joints(
    p: RobotProfile,
    part: str = "hips",
    freq: float = 1.5,
    amplitude: float = 0.3,
    square: bool = False,
    weight: float = 2.0,
    name: str = "",
) -> list[Term]:
    """Swing the joints of body part `part` around the reference pose at `freq` Hz."""
    joints = p.part(part) or p.joints
    joints = joints[:8]
    if not joints:
        return []
    wave, setup = _wave(freq, square)
    err = _joint_rhythm(joints, wave, amplitude)
    named = part if p.part(part) else "joints"
    label = name or f"{named}_{'pose_beat' if square else 'rhythm'}"
    return [
        Term(
            label,
            f"gaussian(jnp.sqrt(({err}) / {len(joints)}.0), {_f(amplitude * 0.6)})",
            weight,
            setup,
            f"{'snap' if square else 'swing'} the {part if p.part(part) else 'joints'} "
            f"({', '.join(j.name for j in joints[:4])}{'...' if len(joints) > 4 else ''}) "
            f"{'between two poses' if square else 'back and forth'} at {freq:g} Hz",
        )
    ]


def body_sway(
    p: RobotProfile, axis: int = 0, freq: float = 1.0, amplitude: float = 0.25, weight: float = 1.0
) -> list[Term]:
    """Rock the base about a body axis (0 roll, 1 pitch, 2 yaw) following a sine at `freq` Hz."""
    names = "xyz"
    if names[axis] not in p.rotate:
        return []
    peak = 2.0 * 3.14159 * freq * amplitude
    setup = (f"sway_target_{axis} = {_f(peak)} * jnp.cos(2.0 * pi * s.phase({_f(freq)}))",)
    what = ("roll", "pitch", "yaw")[axis]
    return [
        Term(
            f"{what}_sway",
            f"gaussian(s.body_angvel(s.base, local=True)[{axis}] - sway_target_{axis}, {_f(peak * 0.6)})",
            weight,
            setup,
            f"sway in {what} at {freq:g} Hz",
        )
    ]


def gait(p: RobotProfile, freq: float = 1.5, weight: float = 1.0) -> list[Term]:
    """Alternate feet in step with a clock: diagonal pairs (4 feet) or left/right (2 feet)."""
    feet = p.feet
    if len(feet) < 2:
        return []
    if len(feet) == 4 and p.front_feet and p.rear_feet and p.left_feet and p.right_feet:
        group_a = [f for f in feet if (f in p.front_feet) == (f in p.right_feet)]
    elif p.left_feet and p.right_feet:
        group_a = list(p.left_feet)
    else:
        group_a = list(feet[: len(feet) // 2])
    group_b = [f for f in feet if f not in group_a]
    setup = (f"stance_a = jnp.where(s.phase({_f(freq)}) < 0.5, 1.0, 0.0)",)
    parts = [f"jnp.abs(s.foot_contact({_q(f)}) - stance_a)" for f in group_a]
    parts += [f"jnp.abs(s.foot_contact({_q(f)}) - (1.0 - stance_a))" for f in group_b]
    return [
        Term(
            "step_rhythm",
            f"1.0 - ({' + '.join(parts)}) / {len(feet)}.0",
            weight,
            setup,
            f"step {'/'.join(group_a)} and {'/'.join(group_b)} in turn at {freq:g} Hz",
        )
    ]


def vigour(p: RobotProfile, scale: float = 4.0, weight: float = 0.5) -> list[Term]:
    """Reward lively, fast joint motion (dance energy, power moves)."""
    if not p.joints:
        return []
    return [
        Term(
            "vigour",
            f"jnp.tanh(jnp.mean(jnp.abs(s.joint_vels())) / {_f(scale)})",
            weight,
            (),
            "move the joints energetically",
        )
    ]


def reach(p: RobotProfile, weight: float = 2.0) -> list[Term]:
    """Bring the tip of the robot to the target (or, without one, as high as it can)."""
    tip = _q(p.tip_body)
    if p.target_body:
        setup = (f"gap = s.body_pos({tip}) - s.body_pos({_q(p.target_body)})",)
        return [
            Term(
                "reach_target",
                "exponential(jnp.sqrt(jnp.sum(gap ** 2)), 0.1)",
                weight,
                setup,
                f"bring {p.tip_body} to {p.target_body}",
            )
        ]
    return [Term("reach_high", f"jnp.tanh(s.body_pos({tip})[2])", weight, (), f"raise {p.tip_body} high")]


def stillness(p: RobotProfile, weight: float = 1.0) -> list[Term]:
    """Stay calm: small base and joint velocities."""
    terms = []
    if p.moves or p.floating:
        terms.append(
            Term(
                "calm_body",
                "gaussian(jnp.sqrt(jnp.sum(s.body_linvel(s.base) ** 2)), 0.2)",
                weight,
                (),
                "keep the body still",
            )
        )
    if p.joints:
        terms.append(
            Term(
                "calm_joints",
                "gaussian(jnp.sqrt(jnp.mean(s.joint_vels() ** 2)), 1.0)",
                weight * 0.5,
                (),
                "keep the joints quiet",
            )
        )
    return terms


def default_pose(p: RobotProfile, weight: float = 0.3) -> list[Term]:
    """Stay near the reference pose (a gentle prior that keeps motions tidy)."""
    if not p.joints:
        return []
    return [
        Term(
            "near_default_pose",
            "gaussian(jnp.sqrt(jnp.mean((s.joint_angles() - s.default_pose) ** 2)), 0.5)",
            weight,
            (),
            "stay close to the reference pose",
        )
    ]


# --- Regularisers -----------------------------------------------------------------------------


def energy(p: RobotProfile, weight: float = 0.02) -> list[Term]:
    """Penalise large actions (effort)."""
    return [Term("effort", "-jnp.sum(action ** 2)", weight, (), "use little effort")]


def smoothness(p: RobotProfile, weight: float = 0.05) -> list[Term]:
    """Penalise jerky changes between consecutive actions."""
    return [Term("smoothness", "-jnp.sum((action - s.prev_action) ** 2)", weight, (), "move smoothly")]


def task_bonus(p: RobotProfile, weight: float = 0.2) -> list[Term]:
    """A little of the scene's own task reward, so its original skill is not forgotten."""
    if p.has_base_policy:
        return [Term("task", "s.task_reward", weight, (), "keep a little of the scene's own task reward")]
    return []


#: Every primitive by name; recipes in the composer refer to these names.
PRIMITIVES: dict[str, Callable[..., list[Term]]] = {
    "move": move,
    "stay_in_place": stay_in_place,
    "turn": turn,
    "hold_heading": hold_heading,
    "roll": roll,
    "upright": upright,
    "hold_height": hold_height,
    "pitch": pitch,
    "lift_feet": lift_feet,
    "plant_feet": plant_feet,
    "jump": jump,
    "bounce": bounce,
    "airtime": airtime,
    "rhythm_joints": rhythm_joints,
    "body_sway": body_sway,
    "gait": gait,
    "vigour": vigour,
    "reach": reach,
    "stillness": stillness,
    "default_pose": default_pose,
    "energy": energy,
    "smoothness": smoothness,
    "task_bonus": task_bonus,
}
