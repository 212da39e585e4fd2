"""The offline composer: reward approaches for any scene, with no key and no network.

A prompt is matched to *motifs* - behaviours described in plain language ("bob up and
down in slow, floaty leaps, like walking on the moon"), each a recipe of reward
primitives - by cosine similarity of all-MiniLM-L6-v2 sentence embeddings (run locally,
see `embedding.py`). The best-matching motifs whose primitives apply to the robot become
the approaches; each recipe is instantiated from the robot's profile (base, feet, joints,
standing height, degrees of freedom), so the same motif gives a quadruped and a
cart-pole different, valid code. Same input, same output: no sampling anywhere.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np
from pydantic import Field

from tabrl.authoring.approach import Approach
from tabrl.authoring.primitives import PRIMITIVES, Term
from tabrl.authoring.profile import RobotProfile

#: Primitives that only regularise; a recipe needs at least one other term to count.
_REGULARISERS = {"energy", "smoothness", "upright", "task_bonus", "default_pose", "hold_heading"}


Recipe = tuple[tuple[str, dict[str, Any]], ...]


@dataclass(frozen=True)
class Style:
    """One way to reward a motif: a title, what it means, and its primitive recipe."""

    title: str
    blurb: str
    #: (primitive name, keyword arguments); `move` speeds are multiples of the robot's walk speed.
    recipe: Recipe
    difficulty: float = 1.0


@dataclass(frozen=True)
class Motif:
    """A behaviour: phrases it is recognised by and the styles that can reward it."""

    key: str
    family: str
    phrases: tuple[str, ...]
    styles: tuple[Style, ...]
    #: Motifs that mean the opposite (a handstand is no answer to "rear up"): once this
    #: motif is chosen they are left out, however close their wording is.
    opposites: tuple[str, ...] = ()


def _r(*items: tuple[str, dict[str, Any]]) -> Recipe:
    return tuple(items)


MOTIFS: tuple[Motif, ...] = (
    Motif(
        "walk",
        "locomotion",
        ("walk ahead", "move forwards at a steady pace", "go straight ahead", "stroll along"),
        (
            Style(
                "Steady walk",
                "A steady forward walk at a comfortable pace, upright and on a straight line.",
                _r(("move", {"speed": 1.0}), ("upright", {}), ("hold_heading", {}), ("smoothness", {})),
            ),
            Style(
                "Rhythmic stepping walk",
                "Forward progress with the feet stepping in turn on a clock, "
                "which gives the gait a regular cadence.",
                _r(("move", {"speed": 0.8}), ("gait", {"freq": 2.0}), ("upright", {}), ("energy", {})),
            ),
            Style(
                "Efficient walk",
                "Cover ground while spending as little effort as possible.",
                _r(
                    ("move", {"speed": 0.8, "weight": 1.5}),
                    ("energy", {"weight": 0.05}),
                    ("smoothness", {"weight": 0.1}),
                    ("default_pose", {"weight": 0.3}),
                ),
            ),
        ),
        opposites=("backward",),
    ),
    Motif(
        "run",
        "locomotion",
        ("run fast", "sprint at top speed", "gallop quickly", "race forward"),
        (
            Style(
                "Fast run",
                "Forward speed is the main goal; a light posture term keeps the sprint from "
                "turning into a tumble.",
                _r(
                    ("move", {"speed": 2.5, "weight": 3.0}),
                    ("upright", {"weight": 0.3}),
                    ("energy", {"weight": 0.01}),
                ),
                1.5,
            ),
            Style(
                "Bounding gallop",
                "Fast travel with airborne phases, like a gallop.",
                _r(("move", {"speed": 2.0, "weight": 2.0}), ("airtime", {"weight": 0.5}), ("upright", {})),
                1.5,
            ),
        ),
        opposites=("backward",),
    ),
    Motif(
        "backward",
        "locomotion",
        ("back up slowly", "move in reverse", "retreat tail first", "reverse away from something"),
        (
            Style(
                "Walk backwards",
                "Travel tail-first at a careful pace while staying upright.",
                _r(("move", {"speed": -0.7}), ("upright", {}), ("hold_heading", {}), ("smoothness", {})),
            ),
        ),
        opposites=("walk", "run", "march"),
    ),
    Motif(
        "sideways",
        "locomotion",
        ("crab walk to the side", "shuffle sideways", "sidestep left", "strafe"),
        (
            Style(
                "Crab walk",
                "Drift sideways while facing forward, like a crab.",
                _r(
                    ("move", {"speed": 0.0, "lateral": 0.4, "weight": 1.0}),
                    ("upright", {}),
                    ("hold_heading", {}),
                ),
            ),
        ),
    ),
    Motif(
        "spin",
        "turning",
        (
            "spin around on the spot",
            "turn around in circles without moving away",
            "pirouette and twirl",
            "rotate round and round",
        ),
        (
            Style(
                "Spin on the spot",
                "Turn continuously about the vertical while staying on the spot.",
                _r(
                    ("turn", {"rate": 2.0, "weight": 2.0}),
                    ("stay_in_place", {}),
                    ("upright", {}),
                    ("smoothness", {}),
                ),
            ),
            Style(
                "Fast twirl",
                "Spin as fast as possible; only falling over is discouraged.",
                _r(
                    ("turn", {"rate": 4.0, "weight": 2.0}),
                    ("upright", {"weight": 0.3}),
                    ("energy", {"weight": 0.005}),
                ),
                1.5,
            ),
            Style(
                "Graceful pirouette",
                "A slow, steady turn in a tall, calm posture.",
                _r(
                    ("turn", {"rate": 1.0, "weight": 1.5}),
                    ("hold_height", {"fraction": 1.05}),
                    ("upright", {"strict": True}),
                    ("stay_in_place", {"weight": 0.7}),
                ),
            ),
        ),
    ),
    Motif(
        "circle",
        "turning",
        ("walk in a circle", "go round in loops", "circle around", "turn while walking"),
        (
            Style(
                "Walk in circles",
                "Keep walking while steadily turning, tracing a circle.",
                _r(("move", {"speed": 0.6}), ("turn", {"rate": 0.8}), ("upright", {}), ("smoothness", {})),
            ),
        ),
    ),
    Motif(
        "jump",
        "vertical",
        ("jump up high", "leap into the air", "hop up and down", "spring off the ground"),
        (
            Style(
                "Big jumps",
                "Push off hard and spend time in the air, landing upright.",
                _r(("jump", {}), ("upright", {"weight": 0.7}), ("energy", {"weight": 0.005})),
                1.5,
            ),
            Style(
                "Pogo hops",
                "Small, quick rhythmic hops on the spot.",
                _r(
                    ("bounce", {"freq": 2.5, "amplitude": 0.04}),
                    ("airtime", {"weight": 0.5}),
                    ("stay_in_place", {}),
                    ("upright", {}),
                ),
            ),
        ),
    ),
    Motif(
        "moon",
        "vertical",
        (
            "slow floaty leaps in low gravity",
            "bouncy astronaut steps on the lunar surface",
            "drift along weightlessly",
            "walk as if gravity were weak",
        ),
        (
            Style(
                "Low-gravity bounding",
                "Slow, floaty bounds: a gentle forward drift with long airborne "
                "phases and a slow up-and-down rhythm.",
                _r(
                    ("move", {"speed": 0.5, "weight": 1.0}),
                    ("bounce", {"freq": 0.8, "amplitude": 0.08}),
                    ("airtime", {"weight": 0.7}),
                    ("upright", {}),
                    ("smoothness", {"weight": 0.1}),
                ),
                1.3,
            ),
            Style(
                "Astronaut hop",
                "Hop forward with both push-off and long hang time, like an astronaut.",
                _r(
                    ("move", {"speed": 0.4, "weight": 1.0}),
                    ("jump", {"weight": 1.0}),
                    ("upright", {"weight": 0.7}),
                ),
                1.5,
            ),
            Style(
                "Slow-motion stride",
                "Walk unusually slowly and smoothly, as if every step floats.",
                _r(
                    ("move", {"speed": 0.3, "weight": 1.5}),
                    ("smoothness", {"weight": 0.3}),
                    ("hold_height", {"fraction": 1.05, "weight": 0.5}),
                    ("upright", {}),
                ),
            ),
        ),
    ),
    Motif(
        "bob",
        "dance",
        (
            "bob up and down to the music",
            "dance to the beat",
            "groove rhythmically",
            "nod along with the music",
        ),
        (
            Style(
                "Groove to the beat",
                "A rhythmic up-and-down groove on the spot, timed by a beat clock.",
                _r(
                    ("bounce", {"freq": 2.0, "amplitude": 0.03}),
                    ("rhythm_joints", {"part": "legs", "freq": 2.0, "amplitude": 0.2, "weight": 1.0}),
                    ("stay_in_place", {}),
                    ("upright", {}),
                ),
            ),
        ),
    ),
    Motif(
        "hula",
        "dance",
        ("swing the hips", "hula dancing in Hawaii", "wiggle your hips side to side", "shake your booty"),
        (
            Style(
                "Hula hip sway",
                "Hip joints swing side to side on a steady beat while the body stays on the spot.",
                _r(
                    ("rhythm_joints", {"part": "hips", "freq": 1.5, "amplitude": 0.3}),
                    ("stay_in_place", {}),
                    ("upright", {}),
                    ("smoothness", {"weight": 0.02}),
                ),
            ),
            Style(
                "Body roll rock",
                "The whole body rocks from side to side (roll) to the beat, feet planted.",
                _r(
                    ("body_sway", {"axis": 0, "freq": 1.5, "amplitude": 0.25, "weight": 1.5}),
                    ("rhythm_joints", {"part": "legs", "freq": 1.5, "amplitude": 0.15, "weight": 0.5}),
                    ("stay_in_place", {}),
                    ("upright", {"weight": 0.3}),
                ),
            ),
            Style(
                "Shimmy and twist",
                "A quicker shimmy: the body twists (yaw) back and forth while the hips keep time.",
                _r(
                    ("body_sway", {"axis": 2, "freq": 2.0, "amplitude": 0.2}),
                    ("rhythm_joints", {"part": "hips", "freq": 2.0, "amplitude": 0.2, "weight": 1.0}),
                    ("vigour", {"weight": 0.2}),
                    ("stay_in_place", {}),
                ),
            ),
        ),
    ),
    Motif(
        "robot",
        "dance",
        (
            "dance like a robot with stiff jerky moves",
            "pop and lock like a machine",
            "the robot dance",
            "move mechanically like an android",
        ),
        (
            Style(
                "Robot pop-and-lock",
                "Snap between two stiff poses on a beat (a smoothed square wave), "
                "body otherwise frozen in place.",
                _r(
                    ("rhythm_joints", {"part": "arms", "freq": 1.0, "amplitude": 0.35, "square": True}),
                    ("stillness", {"weight": 0.5}),
                    ("upright", {}),
                ),
            ),
            Style(
                "Mechanical step-and-turn",
                "Rigid quarter-turns and steps on the beat, with pauses between moves.",
                _r(
                    ("rhythm_joints", {"part": "legs", "freq": 0.5, "amplitude": 0.25, "square": True}),
                    ("turn", {"rate": 0.8, "weight": 0.7}),
                    ("upright", {"strict": True}),
                ),
            ),
            Style(
                "Disco groove",
                "Bouncy, energetic disco: a fast beat through the legs with the body bobbing.",
                _r(
                    ("rhythm_joints", {"part": "legs", "freq": 2.0, "amplitude": 0.3}),
                    ("bounce", {"freq": 2.0, "amplitude": 0.03}),
                    ("vigour", {"weight": 0.3}),
                    ("stay_in_place", {}),
                ),
            ),
        ),
    ),
    Motif(
        "puppy",
        "playful",
        (
            "excited playful dog",
            "wag your tail with joy",
            "frolic around like a young animal",
            "bouncy and cheerful",
        ),
        (
            Style(
                "Happy puppy",
                "Excited little hops with a wagging wiggle of the body, drifting playfully forward.",
                _r(
                    ("bounce", {"freq": 2.5, "amplitude": 0.03}),
                    ("body_sway", {"axis": 2, "freq": 2.5, "amplitude": 0.15}),
                    ("move", {"speed": 0.3, "weight": 0.5}),
                    ("vigour", {"weight": 0.3}),
                    ("upright", {}),
                ),
            ),
            Style(
                "Play bow and pounce",
                "Dip the front end, then spring up: a playful bow-and-pounce rhythm.",
                _r(
                    ("body_sway", {"axis": 1, "freq": 1.0, "amplitude": 0.3}),
                    ("jump", {"weight": 0.7}),
                    ("upright", {"weight": 0.3}),
                ),
            ),
            Style(
                "Zoomies",
                "Dash around in quick circles, full of energy.",
                _r(
                    ("move", {"speed": 1.5, "weight": 1.5}),
                    ("turn", {"rate": 1.5}),
                    ("vigour", {"weight": 0.3}),
                    ("upright", {}),
                ),
            ),
        ),
    ),
    Motif(
        "breakdance",
        "acrobatic",
        (
            "breakdancing power moves",
            "a breakdance battle with cool spins",
            "b-boy street dance floor work",
            "windmill spins on the ground",
        ),
        (
            Style(
                "Power-move spin",
                "Fast spins low to the ground with energetic limb sweeps: a power move.",
                _r(
                    ("turn", {"rate": 3.0, "weight": 2.0}),
                    ("hold_height", {"fraction": 0.6, "weight": 0.5}),
                    ("vigour", {"weight": 0.7}),
                ),
                2.0,
            ),
            Style(
                "Freeze and flare",
                "Flashy full-body rotations (rolls, flips) with lively legs.",
                _r(("roll", {"rate": 3.0, "weight": 1.5}), ("vigour", {"weight": 0.7})),
                2.0,
            ),
            Style(
                "Toprock",
                "Upright footwork to a quick beat: legs pop in rhythm while the body stays up.",
                _r(
                    ("rhythm_joints", {"part": "legs", "freq": 2.0, "amplitude": 0.3, "square": True}),
                    ("turn", {"rate": 0.8, "weight": 0.5}),
                    ("upright", {}),
                ),
            ),
        ),
    ),
    Motif(
        "flip",
        "acrobatic",
        ("roll over", "do a backflip", "tumble and somersault", "barrel roll"),
        (
            Style(
                "Roll and flip",
                "Rotate the whole body around its long axis: rolls and flips.",
                _r(("roll", {"rate": 3.0, "weight": 2.0}), ("vigour", {"weight": 0.3})),
                2.0,
            ),
        ),
    ),
    Motif(
        "march",
        "locomotion",
        (
            "parade step in rhythm",
            "left right left right",
            "military drill walk",
            "stomp in step with the troops",
        ),
        (
            Style(
                "Soldier's march",
                "Slow, proud steps in strict rhythm: feet alternate on a clock, body upright, "
                "heading dead straight.",
                _r(
                    ("move", {"speed": 0.5, "weight": 1.0}),
                    ("gait", {"freq": 1.5, "weight": 1.5}),
                    ("upright", {"strict": True, "weight": 0.7}),
                    ("hold_heading", {"weight": 0.5}),
                ),
            ),
            Style(
                "High-knee parade",
                "Exaggerated knee lifts in time, travelling forward slowly.",
                _r(
                    ("rhythm_joints", {"part": "knees", "freq": 1.5, "amplitude": 0.4, "weight": 1.5}),
                    ("move", {"speed": 0.4, "weight": 1.0}),
                    ("upright", {"strict": True}),
                ),
            ),
            Style(
                "Attention and drill",
                "Crisp, snappy steps on the spot between rigid poses.",
                _r(
                    ("rhythm_joints", {"part": "legs", "freq": 1.0, "amplitude": 0.25, "square": True}),
                    ("stay_in_place", {}),
                    ("hold_heading", {"weight": 0.5}),
                    ("upright", {"strict": True}),
                ),
            ),
        ),
        opposites=("backward",),
    ),
    Motif(
        "rear",
        "posture",
        (
            "rear up on the back legs",
            "stand up on two rear legs",
            "beg like a dog sitting up",
            "lift your front paws off the ground",
        ),
        (
            Style(
                "Rear up",
                "Lift the front end: nose up, front feet in the air, rear feet planted.",
                _r(
                    ("pitch", {"up": True}),
                    ("lift_feet", {"which": "front"}),
                    ("plant_feet", {"which": "rear"}),
                    ("hold_height", {"fraction": 1.3, "weight": 0.5}),
                ),
                2.0,
            ),
            Style(
                "Paws up",
                "Simply keep the front feet off the ground, however the body manages it.",
                _r(
                    ("lift_feet", {"which": "front", "weight": 2.0}),
                    ("plant_feet", {"which": "rear"}),
                    ("stay_in_place", {}),
                ),
                2.0,
            ),
            Style(
                "Tall stretch",
                "Raise the body as high as possible with the nose pointing up.",
                _r(("hold_height", {"fraction": 1.6, "weight": 1.5}), ("pitch", {"up": True, "weight": 1.0})),
                2.0,
            ),
        ),
        opposites=("handstand",),
    ),
    Motif(
        "handstand",
        "posture",
        (
            "do a handstand",
            "balance upside down on the hands",
            "kick your back legs up in the air",
            "headstand",
        ),
        (
            Style(
                "Handstand",
                "Tip the body forward onto the front limbs, rear feet in the air.",
                _r(
                    ("pitch", {"up": False}),
                    ("lift_feet", {"which": "rear"}),
                    ("plant_feet", {"which": "front"}),
                ),
                2.0,
            ),
        ),
        opposites=("rear",),
    ),
    Motif(
        "tall",
        "posture",
        ("stand tall and proud", "stretch up as high as you can", "balance upright", "keep your balance"),
        (
            Style(
                "Stand tall",
                "Hold the body high and perfectly upright, without wandering.",
                _r(
                    ("hold_height", {"fraction": 1.1}),
                    ("upright", {"strict": True, "weight": 1.5}),
                    ("stay_in_place", {}),
                    ("smoothness", {}),
                ),
            ),
        ),
        opposites=("crouch",),
    ),
    Motif(
        "crouch",
        "posture",
        ("crouch down low", "sneak along close to the ground", "crawl like a cat stalking", "duck down"),
        (
            Style(
                "Low crawl",
                "Keep the body low to the ground and creep forward carefully.",
                _r(
                    ("hold_height", {"fraction": 0.65, "weight": 1.5}),
                    ("move", {"speed": 0.3, "weight": 1.0}),
                    ("upright", {}),
                    ("smoothness", {}),
                ),
            ),
        ),
        opposites=("tall",),
    ),
    Motif(
        "still",
        "calm",
        ("stand still", "freeze like a statue", "don't move", "rest calmly"),
        (
            Style(
                "Statue",
                "Hold a calm, balanced pose with minimal motion.",
                _r(
                    ("stillness", {}),
                    ("upright", {"weight": 0.7}),
                    ("default_pose", {"weight": 0.5}),
                    ("energy", {}),
                ),
            ),
        ),
        opposites=("energetic", "run", "breakdance"),
    ),
    Motif(
        "wave",
        "dance",
        ("wave your arms", "swing back and forth", "sway like a tree in the wind", "rock gently to and fro"),
        (
            Style(
                "Rhythmic swing",
                "Swing the limbs back and forth smoothly on a slow rhythm.",
                _r(
                    ("rhythm_joints", {"part": "arms", "freq": 0.8, "amplitude": 0.5}),
                    ("upright", {}),
                    ("smoothness", {"weight": 0.02}),
                ),
            ),
        ),
    ),
    Motif(
        "wiggle",
        "dance",
        ("wiggle like a snake", "slither and undulate", "swim with a wavy body", "shimmy all over"),
        (
            Style(
                "Wiggle and slither",
                "A travelling wiggle through the whole body that also pushes it forward.",
                _r(
                    ("rhythm_joints", {"part": "spine", "freq": 1.2, "amplitude": 0.4}),
                    ("move", {"speed": 0.4, "weight": 1.0}),
                    ("energy", {"weight": 0.005}),
                ),
            ),
        ),
    ),
    Motif(
        "reach",
        "manipulation",
        ("reach for the target", "touch the goal", "point at something", "stretch your arm out"),
        (
            Style(
                "Reach out",
                "Bring the tip of the robot to the target (or as high as it can go) and hold it there.",
                _r(("reach", {}), ("stillness", {"weight": 0.2}), ("energy", {"weight": 0.01})),
            ),
        ),
    ),
    Motif(
        "energetic",
        "playful",
        ("go wild", "move every joint energetically", "party hard", "flail around with excitement"),
        (
            Style(
                "Full-body frenzy",
                "Lively motion of every joint while keeping balance.",
                _r(
                    ("vigour", {"weight": 1.0}),
                    ("upright", {"weight": 1.0}),
                    ("smoothness", {"weight": 0.01}),
                ),
            ),
        ),
        opposites=("still",),
    ),
)

#: How much a motif's second and third styles trail its first: a close runner-up motif
#: beats a second style of the best one, a distant one does not.
STYLE_PENALTY = 0.12


class Composed(Approach):
    """An approach built by the composer, with the motif it came from and how well that matched."""

    motif: str = Field(exclude=True)
    score: float = Field(exclude=True)


def walk_speed(profile: RobotProfile) -> float:
    """A comfortable walking speed (m/s), scaled with how tall the robot stands."""
    if profile.stand_height > 0 and profile.floating:
        return float(np.clip(1.8 * profile.stand_height, 0.3, 1.2))
    return 1.0


def instantiate(style: Style, profile: RobotProfile, direction: int = 1) -> list[Term]:
    """The terms of `style` for this robot (empty when its core does not apply). `direction` -1: the
    prompt asks to travel backwards, so every `move` goes the other way (motifs are written forward)."""
    terms: list[Term] = []
    v = walk_speed(profile) * (-1.0 if direction < 0 else 1.0)
    for prim, kwargs in style.recipe:
        args = dict(kwargs)
        if prim == "move":
            args["speed"] = round(args.get("speed", 1.0) * v, 3)
            args["lateral"] = round(args.get("lateral", 0.0) * v, 3)
        terms.extend(PRIMITIVES[prim](profile, **args))
    core = [
        t
        for t in terms
        if t.name
        not in {
            "effort",
            "smoothness",
            "upright",
            "task",
            "near_default_pose",
            "straight_heading",
            "stay_in_place",
            "calm_body",
            "calm_joints",
        }
    ]
    calm = {"calm_body", "calm_joints"}
    if not core and not calm & {t.name for t in terms}:
        return []
    return terms


def render_code(title: str, prompt: str, terms: list[Term], floating: bool) -> str:
    """Reward module source for `terms` (the reward contract: WEIGHTS + compute_reward)."""
    seen: dict[str, int] = {}
    named: list[Term] = []
    for t in terms:
        n = seen.get(t.name, 0)
        seen[t.name] = n + 1
        named.append(t if n == 0 else Term(f"{t.name}_{n + 1}", t.expr, t.weight, t.setup, t.says))
    setup: list[str] = []
    for t in named:
        for line in t.setup:
            if line not in setup:
                setup.append(line)
    safe_prompt = re.sub(r"\s+", " ", prompt).strip()[:120]
    lines = [
        f"# {title} - composed offline for: {safe_prompt}",
        "WEIGHTS = {",
        *[f'    "{t.name}": {t.weight!r},' for t in named],
        "}",
        "",
        "",
        "def compute_reward(s, action):",
        *[f"    {line}" for line in setup],
        "    return {",
        *[f'        "{t.name}": {t.expr},' for t in named],
        "    }",
    ]
    # A floating robot that ends up on its back is done for, unless rolling over is the point.
    if floating and not any(t.name.startswith("roll_rate") for t in named):
        lines += ["", "", "def is_terminated(s):", "    return s.body_upright(s.base) < -0.5"]
    return "\n".join(lines) + "\n"


def _steps(style: Style, profile: RobotProfile, level: str) -> int:
    if not profile.floating and profile.nu <= 2:
        base = 3_000_000
    elif not profile.floating:
        base = 15_000_000
    else:
        base = 30_000_000
    steps = base * style.difficulty
    if level == "fine_tune":
        steps /= 5
    return int(round(steps / 1_000_000) * 1_000_000) or 1_000_000


def rank_motifs(prompt: str) -> list[tuple[Motif, float]]:
    """Motifs by semantic similarity to `prompt`, best first (ties by library order)."""
    from tabrl.authoring.embedding import cached_embeddings, embed

    phrases = [ph for m in MOTIFS for ph in m.phrases]
    table = cached_embeddings(phrases, "motifs")
    query = embed(prompt.strip() or "move")
    sims = table @ query
    scores = []
    k = 0
    for m in MOTIFS:
        n = len(m.phrases)
        block = np.sort(sims[k : k + n])[::-1]
        # Best phrase dominates; the runner-up breaks near-ties towards motifs that match broadly.
        scores.append(float(block[0] + 0.25 * block[1]))
        k += n
    order = sorted(range(len(MOTIFS)), key=lambda i: (-round(scores[i], 5), i))
    return [(MOTIFS[i], scores[i]) for i in order]


def compose(
    prompt: str,
    profile: RobotProfile,
    n: int = 3,
    *,
    level: str | None = None,
    task_bonus: bool | None = None,
    direction: int = 1,
) -> list[Composed]:
    """`n` distinct approaches for `prompt` on the robot described by `profile`.

    `level`: every approach's level (None: fine_tune for locomotion motifs when the scene has a base
    policy, else from_scratch). `task_bonus`: a fine-tune keeps a little of the scene's own task
    reward (None: whenever it fine-tunes; a joystick base policy's scene trains on the mujoco backend,
    which has no task reward, so the caller says False there). `direction` -1: travel backwards (the
    parsed prompt's sign for speed, `tabrl.authoring.intent`)."""
    candidates = [
        (score - STYLE_PENALTY * k, motif, style)
        for motif, score in rank_motifs(prompt)
        for k, style in enumerate(motif.styles)
    ]
    candidates.sort(key=lambda c: -round(c[0], 5))  # stable: library order breaks ties
    out: list[Composed] = []
    signatures: set[str] = set()
    excluded: set[str] = set()
    for score, motif, style in candidates:
        if len(out) >= n:
            break
        if motif.key in excluded:
            continue
        terms = instantiate(style, profile, direction)
        if not terms:
            continue
        # Two styles can collapse to the same terms on a simple robot; keep one.
        signature = "|".join(sorted(f"{t.name}={t.expr}" for t in terms))
        if signature in signatures:
            continue
        signatures.add(signature)
        excluded.update(motif.opposites)
        chosen = level or (
            "fine_tune" if profile.has_base_policy and motif.family == "locomotion" else "from_scratch"
        )
        if chosen == "fine_tune" and task_bonus is not False:
            terms = [*terms, *PRIMITIVES["task_bonus"](profile)]
        says = [t.says for t in terms if t.says]
        out.append(
            Composed(
                name=style.title,
                description=f"{style.blurb} For this robot: {'; '.join(dict.fromkeys(says))}.",
                reward_code=render_code(style.title, prompt, terms, profile.floating),
                level=chosen,
                steps=_steps(style, profile, chosen),
                motif=motif.key,
                score=round(score, 4),
                terms=[t.name for t in terms],
            )
        )
    return out
