"""What the offline composer needs to know about a robot, derived from its card.

A `RobotProfile` answers structural questions the reward primitives ask: which body is
the base, can it translate / yaw / pitch, which body should stay upright, which joints
form the hips, legs or arms, which feet are front and which rear, how tall the robot
stands. Everything comes from the robot card (names, types, tree, feet) except the
standing height, which needs one MuJoCo forward pass and is cached on disk.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

from tabrl.atomic import cached_json
from tabrl.scenes import RobotCard

# dm_control names planar root joints `rootx` / `rooty` / `rootz` (axis = last letter);
# slide joints translate along it, hinge joints rotate about it.
_AXIS_NAME = re.compile(r"(?:^|_)(?:root|cup|ball)?_?([xyz])$")

# Words that name body parts in joint / body names of Menagerie, Playground and
# dm_control robots. Used to group joints, never to read the person's prompt.
PART_WORDS: dict[str, tuple[str, ...]] = {
    "hips": ("hip", "waist", "abdomen", "pelvis", "torso"),
    "legs": ("hip", "thigh", "knee", "calf", "shin", "ankle", "foot", "leg"),
    "knees": ("knee", "calf", "shin"),
    "arms": ("shoulder", "elbow", "wrist", "arm", "hand"),
    "spine": ("waist", "abdomen", "torso", "spine", "tail", "joint"),
    "tail": ("tail", "fin"),
}


def _words(name: str) -> list[str]:
    spaced = re.sub(r"(?<=[a-z])(?=[A-Z])", " ", name)
    return [w for w in re.split(r"[^A-Za-z0-9]+|(?<=[a-zA-Z])(?=\d)", spaced.lower()) if w]


@dataclass(frozen=True)
class ActJoint:
    """An actuated hinge / slide joint and its index in `s.joint_angles()`."""

    name: str
    index: int
    type: str
    range: tuple[float, float] | None


@dataclass(frozen=True)
class RobotProfile:
    """Structural facts about a robot used to parametrise reward primitives."""

    scene_id: str
    category: str
    floating: bool
    base: str
    #: World axes the base translates along / rotates about ("x", "y", "z").
    translate: frozenset[str]
    rotate: frozenset[str]
    #: Body whose z-axis should point up in a balanced pose (base, or a pole / arm tip).
    posture_body: str
    #: Most distal body of the robot (end effector for reaching).
    tip_body: str
    #: A body (not part of the robot) named like a target, or "".
    target_body: str
    joints: tuple[ActJoint, ...]
    #: A joint that can spin freely (for fixed-base "spin" behaviours), or "".
    spin_joint: str
    feet: tuple[str, ...]
    front_feet: tuple[str, ...]
    rear_feet: tuple[str, ...]
    left_feet: tuple[str, ...]
    right_feet: tuple[str, ...]
    stand_height: float
    has_base_policy: bool
    nu: int
    extras: dict[str, str] = field(default_factory=dict)

    @property
    def legged(self) -> bool:
        """Floating base with feet: walks, jumps, rears up."""
        return self.floating and bool(self.feet)

    @property
    def moves(self) -> bool:
        """The base can travel along world x."""
        return "x" in self.translate

    @property
    def can_yaw(self) -> bool:
        """The base can turn about the vertical."""
        return "z" in self.rotate

    @property
    def can_pitch(self) -> bool:
        """The base can pitch nose up / down."""
        return "y" in self.rotate

    @property
    def has_height(self) -> bool:
        """The base can move up and down."""
        return "z" in self.translate

    @property
    def walk_speed(self) -> float:
        """A comfortable walking speed (m/s), scaled with how tall the robot stands."""
        if self.stand_height > 0 and self.floating:
            return min(max(1.8 * self.stand_height, 0.3), 1.2)
        return 1.0

    def part(self, part: str) -> tuple[ActJoint, ...]:
        """Actuated joints whose name contains a word of body part `part` (may be empty)."""
        words = PART_WORDS.get(part, (part,))
        return tuple(j for j in self.joints if any(w in words or w.startswith(words) for w in _words(j.name)))


def _axis(name: str, default: str) -> str:
    m = _AXIS_NAME.search(name.lower())
    return m.group(1) if m else default


def _robot_bodies(card: RobotCard) -> tuple[list[str], dict[str, str]]:
    parent = {b.name: b.parent for b in card.bodies}
    jointed = {j.body for j in card.joints}

    def moves(body: str) -> bool:
        while body and body != card.bodies[0].name:
            if body in jointed:
                return True
            body = parent.get(body, "")
        return False

    return [b.name for b in card.bodies[1:] if moves(b.name)], parent


def _depth(body: str, parent: dict[str, str]) -> int:
    depth = 0
    while parent.get(body):
        body, depth = parent[body], depth + 1
    return depth


def _side(feet: tuple[str, ...], letters: tuple[str, ...], words: tuple[str, ...]) -> tuple[str, ...]:
    out = []
    for foot in feet:
        ws = _words(foot)
        first = foot[:1].lower()
        if any(w in words for w in ws) or (len(foot) <= 3 and first in letters):
            out.append(foot)
    return tuple(out)


def _front_rear(feet: tuple[str, ...]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    # Quadruped conventions: Go1 "FR"/"RL", cheetah "ffoot"/"bfoot", "front_left", "hind".
    front = tuple(
        f for f in feet if f[:1] == "F" or f.lower().startswith(("front", "ff")) or "front" in _words(f)
    )
    rear = tuple(
        f
        for f in feet
        if (f[:1] == "R" and len(f) <= 3)
        or f.lower().startswith(("rear", "hind", "back", "bf"))
        or any(w in ("rear", "hind", "back") for w in _words(f))
    )
    return front, rear


def _left_right(feet: tuple[str, ...]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    def last(f: str) -> str:
        return f[-1:].upper() if len(f) <= 3 else ""

    left = tuple(f for f in feet if last(f) == "L" or _words(f)[:1] == ["left"])
    right = tuple(f for f in feet if last(f) == "R" or _words(f)[:1] == ["right"])
    return left, right


def build_profile(card: RobotCard, stand_height: float | None = None) -> RobotProfile:
    """Derive a profile from a card; `stand_height` defaults to the cached forward pass."""
    bodies, parent = _robot_bodies(card)
    base = card.root_body
    translate: set[str] = set()
    rotate: set[str] = set()
    if card.floating_base:
        translate, rotate = {"x", "y", "z"}, {"x", "y", "z"}
    else:
        for j in card.joints:
            if j.body != base:
                continue
            if j.type == "slide":
                translate.add(_axis(j.name, "x"))
            elif j.type == "hinge":
                rotate.add(_axis(j.name, "y"))
    by_name = {j.name: j for j in card.joints}
    acts: list[ActJoint] = []
    for a in card.actuators:
        j = by_name.get(a.target)
        if a.target_type in ("joint", "joint_in_parent") and j is not None and j.type in ("hinge", "slide"):
            acts.append(ActJoint(j.name, len(acts), j.type, j.range))
    leaves = [b for b in bodies if b not in set(parent[x] for x in bodies)]
    tip = max(
        leaves or bodies or [base], key=lambda b: (_depth(b, parent), -bodies.index(b) if b in bodies else 0)
    )
    # A base that cannot tilt (cart, arm shoulder on a fixed mount) is not what should
    # stay upright: the last link (pole, lower arm) is.
    posture = base if (card.floating_base or rotate & {"x", "y"}) else tip
    targets = [b.name for b in card.bodies[1:] if b.name not in bodies and "target" in b.name.lower()]
    hinges = [j for j in card.joints if j.type == "hinge"]
    free_spin = [j.name for j in hinges if j.range is None]
    spin_joint = (free_spin or [j.name for j in hinges] or [""])[0]
    front, rear = _front_rear(card.feet)
    left, right = _left_right(card.feet)
    return RobotProfile(
        scene_id=card.id,
        category=card.category,
        floating=card.floating_base,
        base=base,
        translate=frozenset(translate),
        rotate=frozenset(rotate),
        posture_body=posture,
        tip_body=tip,
        target_body=targets[0] if targets else "",
        joints=tuple(acts),
        spin_joint=spin_joint,
        feet=card.feet,
        front_feet=front,
        rear_feet=rear,
        left_feet=left,
        right_feet=right,
        stand_height=stand_height if stand_height is not None else standing_height(card),
        has_base_policy=card.has_base_policy,
        nu=card.nu,
    )


def standing_height(card: RobotCard) -> float:
    """Height of the base above the floor in the scene's reference pose (cached per card).

    The reference pose is the robot card's (`tabrl.scenes.cards.reference_qpos`: keyframe "home", else
    `qpos0`).
    """
    import hashlib

    from tabrl.paths import cache_dir, sub_dir

    # "pose": which reference pose the height was measured in (keyframe "home", not the first keyframe).
    doc = {"card": card.to_dict(), "pose": "home-or-qpos0"}
    key = hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()[:16]
    path = sub_dir(cache_dir(), "profiles") / f"{re.sub(r'[^A-Za-z0-9_.-]', '_', card.id)}-{key}.json"
    cached = cached_json(
        path,
        lambda: {"stand_height": _forward_height(card)},
        valid=lambda data: isinstance(data, dict) and isinstance(data.get("stand_height"), int | float),
    )
    return float(cached["stand_height"])


def _forward_height(card: RobotCard) -> float:
    import mujoco

    from tabrl.scenes import load_scene
    from tabrl.scenes.cards import reference_qpos

    model = load_scene(card.id).mj_model
    data = mujoco.MjData(model)
    data.qpos[:] = reference_qpos(model)
    mujoco.mj_forward(model, data)
    body = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_BODY, card.root_body)
    return round(float(data.xpos[max(body, 0), 2]), 4)
