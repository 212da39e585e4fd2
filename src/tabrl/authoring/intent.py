"""What a prompt asks for, and a success check that says whether a policy did it.

The offline composer matches a prompt to behaviours by sentence similarity, which ignores the
words that decide success: "run *backwards*", "keep the cart on the *right*", "*twice a second*",
"at *0.5 m/s*". `parse_intent` reads those with plain rules - no network, no model - into an
`Intent`: the quantity asked about (travel speed, turning, height, a cart's position, posture,
reaching, hopping, a rhythm...), its direction and sign, its size (a level like "as fast as
possible" or an amount like "0.5 m/s"), a rhythm and its frequency, and constraints ("while
balancing", "without falling", "on the spot").

`success_check` maps an intent onto one robot's own quantities (`RobotProfile`: which body is the
base, what it can translate along and rotate about, its feet, its standing height) and writes a
success check (`tabrl.rewards.checks`): what an independent observer measures to say "the robot
did what was asked". The words, default sizes and goal thresholds live in `data/intent.yaml`.

Conventions (checked on the dm_control / Playground models in tests/authoring/test_intent.py):
"forward" is the base's own x for a floating base, world +x for planar robots (the root slide
joint `rootx` moves the torso's origin along it); "clockwise" and "right" are as seen in TabRL's
videos (`tabrl.render.frames.tracking_camera`: from +x, -y, above), so for the planar
dm_control scenes, whose hinges turn about world +y, a positive joint velocity is clockwise on
screen, while Finger's spinner (axis -y) turns counter-clockwise for positive velocity.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from tabrl.authoring.profile import ActJoint, RobotProfile

_DATA = Path(__file__).resolve().parent / "data" / "intent.yaml"

#: Magnitude levels, smallest first.
LEVELS = ("low", "normal", "high", "max")
#: Directions that describe an oscillation rather than travel.
OSCILLATIONS = ("side_to_side", "back_and_forth", "up_and_down")


@lru_cache(maxsize=1)
def vocabulary() -> dict[str, Any]:
    """The parsed data file (word lists, units, default goals)."""
    return yaml.safe_load(_DATA.read_text(encoding="utf-8"))


# --- the intent ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Intent:
    """What a prompt asks for. Amounts are in SI units (m/s, m, rad, rad/s, Hz)."""

    prompt: str
    #: Every quantity named, main one first ("speed", "turn", "position", "upright", "motion"...).
    quantities: tuple[str, ...] = ()
    #: Every direction word found, in order ("backward", "right", "cw", "side_to_side"...).
    directions: tuple[str, ...] = ()
    #: Size of the main quantity: "low", "normal", "high" or "max".
    magnitude: str = "normal"
    #: Explicit amounts: (dimension, value), dimension one of speed, rate, frequency, length, angle.
    amounts: tuple[tuple[str, float], ...] = ()
    #: The body part named ("hips", "arms", "pole"...), or None.
    part: str | None = None
    #: A rhythm ("wiggle", "shake", "dance", "sway", "bob", "oscillate") and its frequency.
    rhythm: str | None = None
    frequency_hz: float | None = None
    #: Sorted subset of "upright", "no_fall", "in_place", "hold".
    constraints: tuple[str, ...] = ()
    #: The behaviour starts by getting somewhere (swinging a pendulum up).
    swing_up: bool = False
    #: A manner ("moon") that set the magnitude, or None.
    style: str | None = None
    #: Magnitude implied by each secondary quantity's own word ("run" is fast): (quantity, level).
    implied: tuple[tuple[str, str], ...] = ()

    @property
    def quantity(self) -> str | None:
        """The main quantity, or None when the prompt asks for nothing measurable."""
        return self.quantities[0] if self.quantities else None

    @property
    def direction(self) -> str | None:
        """The direction that applies to the main quantity, or None."""
        return self.direction_for(self.quantity) if self.quantity else None

    @property
    def sign(self) -> int:
        """+1 / -1 for the main quantity's direction; 0 when either way (or not directional)."""
        return self.sign_for(self.quantity) if self.quantity else 0

    def direction_for(self, quantity: str) -> str | None:
        """The first direction word that means something for `quantity`."""
        signs = vocabulary()["signs"].get(quantity, {})
        return next((d for d in self.directions if d in signs), None)

    def sign_for(self, quantity: str) -> int:
        """+1, -1 or 0 (either way) for `quantity`."""
        direction = self.direction_for(quantity)
        if direction is None:
            return int(vocabulary()["default_signs"].get(quantity, 0))
        return int(vocabulary()["signs"][quantity][direction])

    def level_for(self, quantity: str) -> str:
        """The magnitude level of `quantity`: the main one takes the prompt's words."""
        if quantity == self.quantity:
            return self.magnitude
        return dict(self.implied).get(quantity, "normal")

    def amount(self, *dimensions: str) -> tuple[str, float] | None:
        """The first explicit amount of one of `dimensions`, as (dimension, value)."""
        return next(((d, v) for d, v in self.amounts if d in dimensions), None)

    @property
    def oscillation(self) -> str | None:
        """ "side_to_side", "back_and_forth" or "up_and_down" when the prompt says so."""
        return next((d for d in self.directions if d in OSCILLATIONS), None)

    def describe(self) -> str:
        """One line: 'speed backward (-1), max; while upright'."""
        if not self.quantities:
            return "nothing measurable"
        main = self.quantity or ""
        head = main if self.part is None or main not in ("joint", "motion") else f"{main} of {self.part}"
        if self.direction or self.sign:
            head += f" {self.direction or 'default'} ({self.sign:+d})" if self.sign else f" {self.direction}"
        bits = [head, self.magnitude]
        bits += [f"{v:g} {_SI[d]}" for d, v in self.amounts if d != "frequency"]
        if self.rhythm:
            freq = f" at {self.frequency_hz:g} Hz" if self.frequency_hz else ""
            bits.append(f"{self.rhythm}{' ' + self.oscillation if self.oscillation else ''}{freq}")
        if self.style:
            bits.append(f"like {self.style}")
        if self.swing_up:
            bits.append("after swinging up")
        line = ", ".join(bits)
        if len(self.quantities) > 1:
            line += "; also " + ", ".join(self.quantities[1:])
        if self.constraints:
            line += "; while " + ", ".join(c.replace("_", " ") for c in self.constraints)
        return line


_SI = {"speed": "m/s", "rate": "rad/s", "frequency": "Hz", "length": "m", "angle": "rad"}


# --- parsing -----------------------------------------------------------------------------------------


def _normalise(prompt: str) -> str:
    text = prompt.lower().replace("’", "").replace("'", "")
    # Keep "/", "°" and decimal points (units, amounts); everything else that is not a word is a space.
    text = re.sub(r"(?<!\d)\.|\.(?!\d)", " ", text)
    text = re.sub(r"[^a-z0-9/°.]+", " ", text)
    return f" {' '.join(text.split())} "


@lru_cache(maxsize=1024)
def _rx(pattern: str) -> re.Pattern[str]:
    # Word boundaries that also hold next to "°" or "/" (where \b does not).
    return re.compile(rf"(?<![a-z0-9])(?:{pattern})(?![a-z0-9])")


def _entries(items: list[Any]) -> list[dict[str, Any]]:
    return [item if isinstance(item, dict) else {"pattern": item} for item in items]


def _first(text: str, patterns: list[str]) -> re.Match[str] | None:
    found = [m for p in patterns if (m := _rx(p).search(text))]
    return min(found, key=lambda m: m.start(), default=None)


def _blank(text: str, patterns: list[str]) -> str:
    for p in patterns:
        text = _rx(p).sub(lambda m: " " * len(m.group(0)), text)
    return text


def _quantities(text: str) -> tuple[list[str], dict[str, str], dict[str, str]]:
    """Quantities named (priority order), the level and the direction their own words imply."""
    found: list[str] = []
    level: dict[str, str] = {}
    direction: dict[str, str] = {}
    for key, items in vocabulary()["quantities"].items():
        for entry in _entries(items):
            if _rx(entry["pattern"]).search(text):
                if key not in found:
                    found.append(key)
                if "magnitude" in entry:
                    level.setdefault(key, entry["magnitude"])
                if "direction" in entry:
                    direction.setdefault(key, entry["direction"])
    return found, level, direction


def _directions(text: str) -> list[str]:
    vocab = vocabulary()
    text = _blank(text, vocab["not_directions"])
    hits: list[tuple[int, str]] = []
    for key, patterns in vocab["directions"].items():
        for p in patterns:
            for m in _rx(p).finditer(text):
                hits.append((m.start(), key))
            # Blank what matched: "left and right" is not "left" as well.
            text = _blank(text, [p])
    return list(dict.fromkeys(key for _, key in sorted(hits)))


def _number(word: str) -> float | None:
    try:
        return float(word)
    except ValueError:
        return vocabulary()["numbers"].get(word)


def _number_rx() -> str:
    words = sorted(vocabulary()["numbers"], key=len, reverse=True)
    return r"(?:\d+(?:\.\d+)?|\.\d+|" + "|".join(re.escape(w) for w in words) + ")"


def _amounts(text: str) -> tuple[list[tuple[str, float]], str]:
    """(dimension, SI value) of every "<number> <unit>" in the text, and the text without them (so
    that "2 turns" or "1 m" is not read again as a quantity or a direction)."""
    spellings = [(u, dim, f) for dim, table in vocabulary()["units"].items() for u, f in table.items()]
    spellings.sort(key=lambda x: -len(x[0]))
    unit_rx = "|".join(re.escape(u) for u, _, _ in spellings)
    rx = re.compile(rf"(?<![\w.])({_number_rx()})\s*({unit_rx})(?![a-z0-9/])")
    table = {u: (dim, f) for u, dim, f in spellings}
    out = []
    for m in rx.finditer(text):
        value = _number(m.group(1))
        if value is not None:
            dim, factor = table[m.group(2)]
            out.append((dim, round(value * factor, 6)))
    return out, rx.sub(lambda m: " " * len(m.group(0)), text)


def _frequency(text: str, amounts: list[tuple[str, float]]) -> float | None:
    """Hz from "twice a second", "3 times per second", "every 2 seconds", "2 Hz", "120 bpm"."""
    for dim, value in amounts:
        if dim == "frequency":
            return value
    num = _number_rx()
    times = "|".join(vocabulary()["times"])
    per = {"second": 1.0, "sec": 1.0, "minute": 60.0, "min": 60.0}
    m = re.search(rf"\b({num}|{times})(?: times)? (?:a|per|each|every) (second|sec|minute|min)\b", text)
    if m:
        count = vocabulary()["times"].get(m.group(1)) or _number(m.group(1)) or 1.0
        return round(count / per[m.group(2)], 6)
    m = re.search(rf"\bevery (?:({num}) )?(second|sec|minute|min)s?\b", text)
    if m:
        n = _number(m.group(1)) if m.group(1) else 1.0
        return round(1.0 / ((n or 1.0) * per[m.group(2)]), 6)
    return None


def _level(text: str) -> str | None:
    hits = [(m.start(), key) for key, pats in vocabulary()["magnitudes"].items() if (m := _first(text, pats))]
    if not hits:
        return None
    # "as fast as possible" is also "fast": the max wording wins wherever it is.
    if any(key == "max" for _, key in hits):
        return "max"
    return min(hits)[1]


def _keyed(text: str, table: dict[str, list[str]]) -> list[str]:
    """Keys of `table` whose patterns occur in the text, in the order they occur."""
    hits = [(m.start(), key) for key, pats in table.items() if (m := _first(text, pats))]
    return [key for _, key in sorted(hits)]


def _travel_implied(quantities: list[str], directions: list[str]) -> list[str]:
    """ "hop forward", "jump to the left": a hop or a rhythm that also travels somewhere."""
    if not quantities or quantities[0] not in ("hop", "jump", "motion"):
        return []
    if {"speed", "lateral", "position", "turn"} & set(quantities):
        return []
    if {"forward", "backward"} & set(directions):
        return ["speed"]
    if {"left", "right"} & set(directions) and quantities[0] != "motion":
        return ["lateral"]
    return []


def _resolve(quantities: list[str], rhythm: str | None, part: str | None, constraints: set[str]) -> list[str]:
    """The quantities actually asked about (adds "upright" to `constraints` when it is one)."""
    robot_part = part is not None and part not in ("pole", "cart")
    # A pose verb ("bend", "raise") is a joint goal only when it names a part of the robot.
    if "joint" in quantities and not robot_part:
        quantities = [q for q in quantities if q != "joint"]
    # A rhythm of a named part, or a rhythm alone, is measured as motion.
    if rhythm and (not quantities or quantities == ["upright"] or robot_part):
        quantities = ["motion", *[q for q in quantities if q != "joint"]]
    # A tip held high is upright enough: "swing it up so the tip is high" asks for the height only.
    if "tip_height" in quantities:
        quantities = [q for q in quantities if q != "upright"]
    # "balance" is the goal only when nothing else is asked; otherwise it is a condition.
    if "upright" in quantities and len(quantities) > 1:
        quantities = [q for q in quantities if q != "upright"]
        constraints.add("upright")
    return quantities


def parse_intent(prompt: str) -> Intent:
    """Read what `prompt` asks for: quantity, direction, size, rhythm, constraints (deterministic)."""
    vocab = vocabulary()
    text = _normalise(prompt)
    amounts, words = _amounts(text)
    # Amounts are read; their words ("2 turns", "1 m") must not read as quantities or directions.
    quantities, implied_level, implied_dir = _quantities(words)
    directions = _directions(words)
    rhythms = _keyed(words, vocab["rhythms"])
    frequency = _frequency(text, amounts)
    parts = _keyed(words, vocab["parts"])
    part = next((p for p in parts if p not in ("pole", "cart")), parts[0] if parts else None)
    constraints = set(_keyed(words, vocab["constraints"]))
    styles = _keyed(words, {k: v["patterns"] for k, v in vocab["styles"].items()})
    rhythm = rhythms[0] if rhythms else None
    # "left and right", "back and forth" or a frequency alone are a rhythm too.
    if rhythm is None and (frequency is not None or any(d in OSCILLATIONS for d in directions)):
        rhythm = "oscillate"
    quantities = _resolve(quantities, rhythm, part, constraints)
    if implied_dir:
        directions += [d for d in implied_dir.values() if d not in directions]
    quantities += _travel_implied(quantities, directions)
    main = quantities[0] if quantities else None
    style = styles[0] if styles else None
    explicit = _level(words)
    style_level = vocab["styles"][style].get("magnitude") if style else None
    magnitude = explicit or style_level or (implied_level.get(main) if main else None) or "normal"
    return Intent(
        prompt=prompt,
        quantities=tuple(quantities),
        directions=tuple(directions),
        magnitude=magnitude,
        amounts=tuple(a for a in amounts if a[0] != "frequency"),
        part=part,
        rhythm=rhythm,
        frequency_hz=frequency,
        constraints=tuple(sorted(constraints)),
        swing_up=_first(words, vocab["swing_up"]) is not None,
        style=style,
        implied=tuple(sorted((q, lv) for q, lv in implied_level.items() if q != main)),
    )


# --- the scene's geometry -------------------------------------------------------------------------


@dataclass(frozen=True)
class _Geometry:
    """What a check needs from the model beyond the profile: axes and link directions."""

    #: World axis of each hinge / slide joint (reference pose).
    axes: dict[str, tuple[float, float, float]]
    #: For each body: its "length" direction in its own frame (to its farthest geom), and that geom.
    links: dict[str, tuple[tuple[float, float, float], str]]


@lru_cache(maxsize=8)
def _posed(scene_id: str) -> tuple[Any, Any]:
    """The scene's model and its data after a forward pass in the reference pose (shared by the
    geometry readers below, so a scene is loaded and posed once)."""
    import mujoco

    from tabrl.scenes import load_scene
    from tabrl.scenes.cards import reference_qpos

    model = load_scene(scene_id).mj_model
    data = mujoco.MjData(model)
    data.qpos[:] = reference_qpos(model)
    mujoco.mj_forward(model, data)
    return model, data


@lru_cache(maxsize=32)
def _geometry(scene_id: str) -> _Geometry:
    import numpy as np

    model, data = _posed(scene_id)
    axes = {model.joint(j).name: tuple(float(x) for x in data.xaxis[j]) for j in range(model.njnt)}
    links: dict[str, tuple[tuple[float, float, float], str]] = {}
    for b in range(1, model.nbody):
        geoms = [g for g in range(model.ngeom) if model.geom_bodyid[g] == b]
        if not geoms:
            continue
        far = max(geoms, key=lambda g: float(np.linalg.norm(data.geom_xpos[g] - data.xpos[b])))
        offset = data.xmat[b].reshape(3, 3).T @ (data.geom_xpos[far] - data.xpos[b])
        links[model.body(b).name] = (tuple(float(x) for x in offset), model.geom(far).name)
    return _Geometry(axes, links)


@dataclass(frozen=True)
class _Tip:
    """The free end of a fixed-base chain of hinged links (an acrobot's tip, a pendulum's end)."""

    #: Per-step expression of the end's world position (a site on the last link, else its farthest geom).
    point: str
    #: Height of the chain's first hinge (world z, constant for a chain on a fixed or sliding mount).
    pivot_z: float
    #: The end's farthest possible distance from that hinge: the sum of the links' lengths.
    reach: float


@lru_cache(maxsize=32)
def _tip(scene_id: str, tip_body: str) -> _Tip | None:
    """The chain that ends at `tip_body`, or None when its links are not all on hinges."""
    import mujoco
    import numpy as np

    model, data = _posed(scene_id)
    body = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_BODY, tip_body)
    if body <= 0:
        return None
    sites = [i for i in range(model.nsite) if model.site_bodyid[i] == body]
    geoms = [i for i in range(model.ngeom) if model.geom_bodyid[i] == body]
    if sites:
        end = max(sites, key=lambda i: float(np.linalg.norm(model.site_pos[i])))
        point, offset = f"s.site_pos({model.site(end).name!r})", float(np.linalg.norm(model.site_pos[end]))
    elif geoms:
        end = max(geoms, key=lambda i: float(np.linalg.norm(data.geom_xpos[i] - data.xpos[body])))
        point = f"s.geom_pos({model.geom(end).name!r})"
        offset = float(np.linalg.norm(data.geom_xpos[end] - data.xpos[body]))
    else:
        return None

    def hinged(b: int) -> bool:
        joints = range(model.body_jntadr[b], model.body_jntadr[b] + model.body_jntnum[b])
        return model.body_jntnum[b] > 0 and all(
            model.jnt_type[j] == mujoco.mjtJoint.mjJNT_HINGE for j in joints
        )

    if not hinged(body):
        return None
    reach, pivot = offset, body
    while model.body_parentid[pivot] > 0 and hinged(int(model.body_parentid[pivot])):
        reach += float(np.linalg.norm(model.body_pos[pivot]))
        pivot = int(model.body_parentid[pivot])
    if reach <= 0.0:
        return None
    return _Tip(point, float(data.xpos[pivot][2]), reach)


def _camera() -> tuple[tuple[float, float, float], tuple[float, float, float]]:
    """(towards the viewer, screen right) of TabRL's video camera, in world coordinates."""
    cam = vocabulary()["camera"]
    az, el = math.radians(cam["azimuth_deg"]), math.radians(cam["elevation_deg"])
    forward = (math.cos(el) * math.cos(az), math.cos(el) * math.sin(az), math.sin(el))
    right = (forward[1], -forward[0], 0.0)  # forward x world-up, normalised below
    norm = math.hypot(*right) or 1.0
    return (-forward[0], -forward[1], -forward[2]), (right[0] / norm, right[1] / norm, 0.0)


def _dot(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True))


def _ccw_sign(scene_id: str, joint: str) -> int:
    """+1 when a positive velocity of hinge `joint` looks counter-clockwise in TabRL's videos."""
    axis = _geometry(scene_id).axes.get(joint, (0.0, 1.0, 0.0))
    return 1 if _dot(axis, _camera()[0]) >= 0 else -1


def _right_sign(scene_id: str, joint: str) -> int:
    """+1 when a positive position of slide `joint` is to the right in TabRL's videos."""
    axis = _geometry(scene_id).axes.get(joint, (1.0, 0.0, 0.0))
    return 1 if _dot(axis, _camera()[1]) >= 0 else -1


# --- the check ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Measure:
    """One thing a success check measures per step (`expr`) and the goal its episode figure must meet.

    The offline composer shapes its reward from the same measures (`tabrl.authoring.shaping`):
    `guard` marks a constraint ("without falling", "while balancing", "on the spot") that the asked-for
    quantities only count under; `margin` is how far from the goal the reward still points the way
    (None: the generic rule in `shaping.factors`); `span` is the range `expr` can physically take (a
    slide joint's limits), so that the reward does not drive the robot into an end stop."""

    name: str
    expr: str
    goal: str
    why: str
    settle_s: float = 0.0
    guard: bool = False
    margin: float | None = None
    span: tuple[float, float] | None = None


def _num(x: float) -> str:
    return f"{round(x, 3):g}"


def _goals() -> dict[str, Any]:
    return vocabulary()["goals"]


def _signed_goal(table: dict[str, Any], level: str, sign: int, scale: float = 1.0) -> str:
    """The goal of a signed quantity at `level` (a bound, or a band for "low")."""
    spec = table[level]
    if isinstance(spec, list):
        lo, hi = spec[0] * scale, spec[1] * scale
        return f"between {_num(lo)} and {_num(hi)}" if sign >= 0 else f"between {_num(-hi)} and {_num(-lo)}"
    return f"> {_num(spec * scale)}" if sign >= 0 else f"< {_num(-spec * scale)}"


def _amount_goal(value: float, dimension: str, sign: int = 1, scale: float = 1.0) -> str:
    """A band around an explicit amount (`scale` turns e.g. a distance into a mean speed)."""
    g = _goals()
    tol = max(g["amount_tolerance"] * abs(value), g["amount_tolerance_abs"][dimension])
    lo, hi = (abs(value) - tol) * scale, (abs(value) + tol) * scale
    if sign < 0:
        lo, hi = -hi, -lo
    return f"between {_num(lo)} and {_num(hi)}"


def _judged_s(settle_s: float) -> float:
    from tabrl.rewards.checks import ROLLOUT_SECONDS

    return ROLLOUT_SECONDS - settle_s


def _travel(profile: RobotProfile, lateral: bool = False) -> str | None:
    """Base velocity along its forward (or left) axis, or None when it cannot travel that way."""
    if profile.floating:
        return f"s.body_linvel(s.base, local=True)[{1 if lateral else 0}]"
    axis = "y" if lateral else "x"
    # Planar robots: the root slide joint moves the base's origin along the world axis.
    return f"s.body_linvel(s.base)[{'xyz'.index(axis)}]" if axis in profile.translate else None


def _speed(intent: Intent, profile: RobotProfile, key: str) -> list[Measure]:
    lateral = key == "lateral"
    expr = _travel(profile, lateral)
    if expr is None:
        return []
    name = "left_speed" if lateral else "forward_speed"
    sign, level = intent.sign_for(key), intent.level_for(key)
    main = key == intent.quantity
    speed = intent.amount("speed") if main else None
    distance = intent.amount("length") if main else None
    if sign == 0:
        expr = f"jnp.abs({expr})"
    if speed:
        return [Measure(name, expr, _amount_goal(speed[1], "speed", sign or 1), f"{speed[1]:g} m/s asked")]
    if distance:
        # The mean speed over the judged time is the distance travelled divided by that time.
        goal = _amount_goal(distance[1], "length", sign or 1, 1.0 / _judged_s(0.0))
        return [Measure(name, expr, goal, f"{distance[1]:g} m in {_judged_s(0.0):g} s")]
    v = profile.walk_speed
    why = f"{level} speed, walking speed {_num(v)} m/s"
    return [Measure(name, expr, _signed_goal(_goals()[key], level, sign, v), why)]


def _turn(intent: Intent, profile: RobotProfile) -> list[Measure]:
    sign, level = intent.sign_for("turn"), intent.level_for("turn")
    if profile.can_yaw:
        expr, table = "s.body_angvel(s.base)[2]", _goals()["turn"]
    elif profile.spin_joint:
        ccw = _ccw_sign(profile.scene_id, profile.spin_joint)
        expr = f"{'' if ccw > 0 else '-'}s.joint_vel({profile.spin_joint!r})"
        table = _goals()["spin_joint"]
    else:
        return []
    why = "counter-clockwise positive, as seen in TabRL's videos"
    main = intent.quantity == "turn"
    rate, angle = (intent.amount("rate"), intent.amount("angle")) if main else (None, None)
    if sign == 0:
        expr = f"jnp.abs({expr})"
    if rate:
        return [Measure("turn_rate", expr, _amount_goal(rate[1], "rate", sign or 1), why)]
    if angle:
        # Turning by an angle: the mean rate over the rollout is the angle over its length.
        goal = _amount_goal(angle[1], "angle", sign or 1, 1.0 / _judged_s(0.0))
        return [Measure("turn_rate", expr, goal, f"{why}; {angle[1]:g} rad in {_judged_s(0.0):g} s")]
    return [Measure("turn_rate", expr, _signed_goal(table, level, sign), why)]


def _slide(profile: RobotProfile) -> ActJoint | None:
    return next((j for j in profile.joints if j.type == "slide"), None)


def _position(intent: Intent, profile: RobotProfile) -> list[Measure]:
    g = _goals()
    slide = _slide(profile)
    if slide is not None:
        expr, sign = f"s.joint_angle({slide.name!r})", _right_sign(profile.scene_id, slide.name)
        half = (slide.range[1] - slide.range[0]) / 2 if slide.range else 0.0
        side = g["side_fraction"] * half if half > 0 else g["side_m"]
        margin = 0.5 * half if half > 0 else 2.0 * g["side_m"]
        span = (slide.range[0], slide.range[1]) if slide.range else None
    elif not profile.floating and "x" in profile.translate:
        expr, sign, side = "s.body_pos(s.base)[0]", (1 if _camera()[1][0] >= 0 else -1), g["side_m"]
        margin, span = 2.0 * g["side_m"], None
    else:
        return []  # a floating base starts anywhere: a position means nothing on its own
    if sign < 0:
        expr = f"-{expr}"
        span = (-span[1], -span[0]) if span else None
    name = f"{profile.base}_x"
    settle = g["settle_s"]["position"]
    direction = intent.direction_for("position")
    length = intent.amount("length") if intent.quantity == "position" else None
    want = intent.sign_for("position")
    if length:
        return [Measure(name, expr, _amount_goal(length[1], "length", want or 1), "metres, right positive",
                        settle, margin=margin, span=span)]  # fmt: skip
    if direction is None or want == 0:
        return [
            Measure(
                name, expr, f"between {_num(-side)} and {_num(side)}", "in the middle", settle, margin=margin
            )
        ]
    goal = f"> {_num(side)}" if want > 0 else f"< {_num(-side)}"
    return [
        Measure(name, expr, goal, "metres from the middle, right positive", settle, margin=margin, span=span)
    ]


def _chain(profile: RobotProfile) -> list[str]:
    """The links that must point up for a fixed-base robot to be "upright"."""
    return list(dict.fromkeys([profile.posture_body, profile.tip_body]))


def _link_up(profile: RobotProfile, body: str) -> str | None:
    """How far `body`'s length points up (1 when vertical), or None for a link that never tilts."""
    links = _geometry(profile.scene_id).links
    offset, geom = links.get(body, ((0.0, 0.0, 1.0), ""))
    length = math.sqrt(_dot(offset, offset)) or 1.0
    along_z = offset[2] / length
    if abs(along_z) > 0.9:
        return f"{'' if along_z > 0 else '-'}s.body_upright({body!r})"
    if geom:
        # A link that lies along another axis: the height of its far end above its origin.
        return f"(s.geom_pos({geom!r})[2] - s.body_pos({body!r})[2]) / {_num(length)}"
    return None


def _tilts(profile: RobotProfile) -> bool:
    """Whether the robot's posture can leave vertical (not a robot turning in a horizontal plane)."""
    if profile.floating or (profile.can_pitch and profile.has_height):
        return True
    axes = _geometry(profile.scene_id).axes
    hinges = [j.name for j in profile.joints if j.type == "hinge"] + [profile.spin_joint]
    return any(abs(axes.get(j, (0.0, 0.0, 1.0))[2]) < 0.9 for j in hinges if j)


def _upright(intent: Intent, profile: RobotProfile, main: bool) -> list[Measure]:
    g = _goals()
    if not _tilts(profile):
        return []
    if profile.floating or profile.has_height:
        expr, links = "s.body_upright(s.base)", "the base"
    else:
        ups = [u for b in _chain(profile) if (u := _link_up(profile, b))]
        if not ups:
            return []
        expr = ups[0] if len(ups) == 1 else f"jnp.minimum({ups[0]}, {ups[1]})"
        links = " and ".join(_chain(profile))
    swing = intent.swing_up or "swingup" in profile.scene_id.lower()
    fraction = g["swing_up_fraction"] if swing else g["balance_fraction"]
    settle = g["settle_s"]["swing_up" if swing else "balance"] if main or swing else 0.0
    why = f"{links} within ~25 degrees of vertical, fraction of the time"
    cond = f"{expr} > {_num(g['upright_cos'])}"
    return [Measure("upright", cond, f">= {_num(fraction)}", why, settle, guard=not main)]


def _fallen_height(profile: RobotProfile) -> float:
    """The base height under which the robot has fallen (0: no height test). A biped balances its
    torso over two legs: below 70 % of standing it kneels or sits (dm_control's walker pays for a
    torso above 1.2 of 1.3 m). Measured (bench/README.md): with the tilt alone, "walk forward" trained
    Walkers that shuffled at 1-1.6 m/s with the torso under 0.9 m most of the time. A floating base
    with more legs has fallen when its belly is near the floor; a planar hopper or cheetah folds deep
    while it moves, and its tilt says enough."""
    if not profile.has_height or profile.stand_height <= 0:
        return 0.0
    g = _goals()
    if len(profile.feet) == 2 and profile.left_feet and profile.right_feet:  # not a cheetah's fore and hind
        return g["no_fall_height_biped"] * profile.stand_height
    return g["no_fall_height"] * profile.stand_height if profile.floating else 0.0


def _no_fall(profile: RobotProfile, height_asked: bool = False) -> list[Measure]:
    """The "not fallen" guard: base tilt, and its height unless a height is what was asked for (a
    Walker asked to crouch must not be held up by its guard)."""
    if not (profile.floating or (profile.has_height and profile.can_pitch)):
        return []
    g = _goals()
    cond = f"s.body_upright(s.base) > {_num(g['no_fall_cos'])}"
    height = 0.0 if height_asked else _fallen_height(profile)
    if height > 0:
        cond = f"jnp.logical_and({cond}, s.body_height(s.base) > {_num(height)})"
    return [
        Measure(
            "not_fallen",
            cond,
            f">= {_num(g['no_fall_fraction'])}",
            "on its feet, fraction of the time",
            guard=True,
        )
    ]


def _in_place(profile: RobotProfile) -> list[Measure]:
    limit = _goals()["in_place_speed"] * profile.walk_speed
    if profile.floating:
        expr = "jnp.linalg.norm(s.body_linvel(s.base)[:2])"
    elif "x" in profile.translate:
        expr = "jnp.abs(s.body_linvel(s.base)[0])"
    else:
        return []
    return [Measure("drift_speed", expr, f"< {_num(limit)}", "stays on the spot (m/s)", guard=True)]


def _feet_air() -> str:
    return "s.feet_contact().sum() < 0.5"


def _jump(intent: Intent, profile: RobotProfile, key: str) -> list[Measure]:
    g = _goals()
    level = intent.level_for(key)
    out = []
    if profile.feet:
        air = g["airborne_fraction"][level if key == "hop" else "normal"]
        out.append(Measure("airborne", _feet_air(), f">= {_num(air)}", "no foot on the floor, fraction"))
    if key == "jump" and profile.has_height and profile.stand_height > 0:
        height = intent.amount("length") if key == intent.quantity else None
        gain = height[1] if height else g["jump_gain"][level] * profile.stand_height
        cond = f"s.body_height(s.base) > {_num(profile.stand_height + gain)}"
        why = f"base {_num(gain)} m above its standing height, fraction"
        out.append(
            Measure(
                "high", cond, f">= {_num(g['jump_high_fraction'])}", why, margin=0.5 * profile.stand_height
            )
        )
    return out


def _height(intent: Intent, profile: RobotProfile) -> list[Measure]:
    if not profile.has_height or profile.stand_height <= 0:
        return []
    sign, level = intent.sign_for("height") or 1, intent.level_for("height")
    amount = intent.amount("length")
    if amount:
        target = profile.stand_height + sign * amount[1]
        return [
            Measure(
                "height",
                "s.body_height(s.base)",
                _amount_goal(target, "length"),
                "base height (m)",
                margin=0.5 * profile.stand_height,
            )
        ]
    table = _goals()["height_up" if sign > 0 else "height_down"]
    bound = table[level] * profile.stand_height
    goal = f"> {_num(bound)}" if sign > 0 else f"< {_num(bound)}"
    why = f"standing height {profile.stand_height:g} m"
    # Up: the reward pulls from the floor (a Walker sitting upright must feel it); down: from standing.
    margin = None if sign > 0 else 0.5 * profile.stand_height
    return [Measure("height", "s.body_height(s.base)", goal, why, margin=margin)]


def _tip_height(intent: Intent, profile: RobotProfile) -> list[Measure]:
    """ "Swing up so its tip is high": the free end's mean height, as a fraction of its reach above
    the pivot (a continuous figure: a policy that gets the tip higher ranks higher before any passes)."""
    if profile.floating or not profile.tip_body:
        return []
    tip = _tip(profile.scene_id, profile.tip_body)
    if tip is None:
        return []
    g = _goals()
    bound = g["tip_height"][intent.level_for("tip_height")]
    expr = f"({tip.point}[2] - {_num(tip.pivot_z)}) / {_num(tip.reach)}"
    why = f"{profile.tip_body}'s end: 1 straight up, 0 level with the pivot, -1 hanging"
    settle = g["settle_s"]["swing_up" if intent.swing_up else "tip_height"]
    # margin: from hanging straight down (-1) to the goal, so the reward pulls from anywhere.
    return [Measure("tip_height", expr, f"> {_num(bound)}", why, settle, margin=bound + 1.0)]


def _reach(profile: RobotProfile) -> list[Measure]:
    if not profile.target_body or not profile.tip_body:
        return []
    g = _goals()
    dist = f"jnp.linalg.norm(s.body_pos({profile.tip_body!r}) - s.body_pos({profile.target_body!r}))"
    return [Measure("on_target", f"{dist} < {_num(g['reach_radius'])}", f">= {_num(g['reach_fraction'])}",
                     f"{profile.tip_body} within {g['reach_radius']:g} m of {profile.target_body}",
                     g["settle_s"]["reach"])]  # fmt: skip


def _mean_abs(terms: list[str]) -> str:
    body = " + ".join(f"jnp.abs({t})" for t in terms)
    return f"({body}) / {len(terms)}" if len(terms) > 1 else f"jnp.abs({terms[0]})"


def _part_joints(intent: Intent, profile: RobotProfile) -> tuple[ActJoint, ...]:
    if intent.part in (None, "pole", "cart"):
        return ()
    return profile.part(intent.part)


def _motion(intent: Intent, profile: RobotProfile) -> list[Measure]:
    """A rhythm: how fast the moving part moves on average, against what the rhythm needs."""
    g = _goals()
    freq = intent.frequency_hz or g["rhythm_freq_hz"]
    scale = g["rhythm_level"][intent.level_for("motion") if intent.quantity == "motion" else "normal"]
    amp = g["rhythm_amplitude"]
    joints = _part_joints(intent, profile)
    osc = intent.oscillation
    expr, a = None, amp["angle"]
    if joints:
        expr, what = _mean_abs([f"s.joint_vel({j.name!r})" for j in joints]), f"{intent.part} joints"
    elif profile.floating and osc != "up_and_down":
        axes = {"side_to_side": (0, 2), "back_and_forth": (1,)}.get(osc or "", (0, 1, 2))
        terms = [f"s.body_angvel(s.base, local=True)[{i}]" for i in axes]
        expr, a, what = _mean_abs(terms), amp["base_angle"], "body sway"
    elif osc == "up_and_down" and profile.has_height:
        expr, a, what = "jnp.abs(s.body_linvel(s.base)[2])", amp["length"], "body bob"
    elif osc in ("side_to_side", "back_and_forth") and "x" in profile.translate and not profile.floating:
        expr, a, what = "jnp.abs(s.body_linvel(s.base)[0])", amp["length"], f"{profile.base} to and fro"
    elif profile.joints:
        expr, what = _mean_abs([f"s.joint_vel({j.name!r})" for j in profile.joints]), "every joint"
    if expr is None:
        return []
    # A sinusoid of amplitude a at f Hz moves at 4 a f on average; ask for half of that.
    goal = 2.0 * a * freq * scale
    return [Measure("motion", expr, f"> {_num(goal)}", f"mean speed of {what}, {freq:g} Hz rhythm")]


def _joint(intent: Intent, profile: RobotProfile) -> list[Measure]:
    joints = _part_joints(intent, profile)
    if not joints:
        return []
    g = _goals()
    expr = _mean_abs([f"s.joint_angles()[{j.index}] - s.default_pose[{j.index}]" for j in joints])
    angle = intent.amount("angle") if intent.quantity == "joint" else None
    if angle:
        goal = _amount_goal(angle[1], "angle")
    else:
        goal = f"> {_num(g['joint_bend'][intent.level_for('joint')])}"
    why = f"{intent.part} joints away from the reference pose (rad)"
    return [Measure("bend", expr, goal, why, g["settle_s"]["joint"])]


def _still(profile: RobotProfile) -> list[Measure]:
    g = _goals()
    out = []
    if profile.joints:
        expr = _mean_abs([f"s.joint_vel({j.name!r})" for j in profile.joints])
        out.append(Measure("joint_speed", expr, f"< {_num(g['still_joint_speed'])}", "rad/s, on average"))
    if profile.floating or profile.translate:
        expr = "jnp.linalg.norm(s.body_linvel(s.base))"
        out.append(Measure("base_speed", expr, f"< {_num(g['still_base_speed'])}", "m/s, on average"))
    return out


def _flip(profile: RobotProfile, intent: Intent) -> list[Measure]:
    g = _goals()["flip"][intent.level_for("flip")]
    if profile.floating:
        expr = _mean_abs(["s.body_angvel(s.base, local=True)[0]", "s.body_angvel(s.base, local=True)[1]"])
    elif profile.can_pitch and profile.has_height:
        expr = "jnp.abs(s.body_angvel(s.base)[1])"
    else:
        return []
    return [Measure("flip_rate", expr, f"> {_num(g)}", "pitch / roll rate (rad/s)")]


def _measures_for(key: str, intent: Intent, profile: RobotProfile) -> list[Measure]:
    main = key == intent.quantity
    if key in ("speed", "lateral"):
        return _speed(intent, profile, key)
    if key == "turn":
        return _turn(intent, profile)
    if key == "position":
        return _position(intent, profile)
    if key in ("jump", "hop"):
        return _jump(intent, profile, key)
    if key == "height":
        return _height(intent, profile)
    if key == "reach":
        return _reach(profile)
    if key == "tip_height":
        return _tip_height(intent, profile)
    if key == "upright":
        return _upright(intent, profile, main)
    if key == "motion":
        return _motion(intent, profile)
    if key == "joint":
        return _joint(intent, profile)
    if key == "still":
        return _still(profile)
    if key == "flip":
        return _flip(profile, intent)
    return []


def _render(intent: Intent, measures: list[Measure], settle: float) -> str:
    safe = re.sub(r"\s+", " ", intent.prompt).strip()[:120]
    lines = [
        f"# Success check for: {safe}",
        f"# Intent: {intent.describe()}"[:200],
        "def measure(s):",
        "    return {",
        *[f'        "{m.name}": {m.expr},  # {m.why}' for m in measures],
        "    }",
        "",
        "",
        "GOALS = {",
        *[f'    "{m.name}": "{m.goal}",' for m in measures],
        "}",
    ]
    if settle > 0:
        lines.append(f"SETTLE_S = {float(round(settle, 3))!r}")
    return "\n".join(lines) + "\n"


def measures(intent: Intent, profile: RobotProfile) -> list[Measure]:
    """What `intent` asks of the robot of `profile`, measured: the asked-for quantities first, then the
    constraints (guards); empty when nothing it asks for can be measured on this robot."""
    found: list[Measure] = []
    for key in intent.quantities:
        found += _measures_for(key, intent, profile)
    if intent.rhythm and "motion" not in intent.quantities and found:
        found += _motion(intent, profile)
    if not found:
        return []
    if "upright" in intent.constraints and "upright" not in intent.quantities:
        found += _upright(intent, profile, main=False)
    if "in_place" in intent.constraints and not {"speed", "lateral", "position"} & set(intent.quantities):
        found += _in_place(profile)
    # A robot that can fall over must not pass by falling (unless tumbling is the point).
    base_upright = (profile.floating or profile.has_height) and any(m.name == "upright" for m in found)
    if "flip" not in intent.quantities and not base_upright:
        found += _no_fall(profile, any("s.body_height(s.base)" in m.expr for m in found))
    return list({m.name: m for m in found}.values())


def success_check(intent: Intent, profile: RobotProfile) -> str | None:
    """A success-check module (`tabrl.rewards.checks`) for `intent` on the robot of `profile`, or
    None when nothing the intent asks for can be measured on this robot."""
    unique = measures(intent, profile)
    if not unique:
        return None
    settle = max((m.settle_s for m in unique), default=0.0)
    if "hold" in intent.constraints:
        settle = max(settle, _goals()["settle_s"]["hold"])
    return _render(intent, unique, settle)


__all__ = [
    "LEVELS",
    "OSCILLATIONS",
    "Intent",
    "Measure",
    "measures",
    "parse_intent",
    "success_check",
    "vocabulary",
]
