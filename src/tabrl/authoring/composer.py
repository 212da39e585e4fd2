"""The offline composer: reward approaches for any scene, with no key and no network.

A prompt is matched to *motifs* - behaviours described in plain language ("bob up and
down in slow, floaty leaps, like walking on the moon"), each a recipe of reward
primitives - by cosine similarity of all-MiniLM-L6-v2 sentence embeddings (run locally,
see `embedding.py`). The best-matching motifs whose primitives apply to the robot become
the approaches; each recipe is instantiated from the robot's profile (base, feet, joints,
standing height, degrees of freedom), so the same motif gives a quadruped and a
cart-pole different, valid code. Same input, same output: no sampling anywhere.

The motifs are data (`data/motifs.yaml`, validated on load by `Motif` and `Style`).
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal, get_type_hints

import numpy as np
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from tabrl.authoring.approach import Approach
from tabrl.authoring.intent import measures, parse_intent
from tabrl.authoring.primitives import PRIMITIVES, Term
from tabrl.authoring.profile import RobotProfile
from tabrl.authoring.shaping import shaped_terms, styles
from tabrl.errors import did_you_mean

_DATA = Path(__file__).resolve().parent / "data" / "motifs.yaml"

#: Primitives that only regularise; a recipe needs at least one other term to count.
_REGULARISERS = {"energy", "smoothness", "upright", "task_bonus", "default_pose", "hold_heading"}

#: A simile ("march like a soldier", "as if it were drunk"): a manner, which the motifs know.
_MANNER = re.compile(r"\blike (?:a|an|the|you|youre|you're|it|its|it's|on|in|at|some)\b|\bas (?:if|though)\b")

#: (primitive name, keyword arguments), in the order the terms are emitted.
Recipe = tuple[tuple[str, dict[str, Any]], ...]


class MotifDataError(ValueError):
    """The motif data file is malformed: the message names the motif, style and field."""


def _check_args(prim: str, args: Any) -> dict[str, Any]:
    """`args` for primitive `prim`, checked against its signature (ints become floats where it takes floats)."""
    if args is None:
        args = {}
    if not isinstance(args, dict):
        raise ValueError(f"{prim}: arguments must be a mapping like {{weight: 0.5}}, got {args!r}")
    hints = {k: v for k, v in get_type_hints(PRIMITIVES[prim]).items() if k not in ("p", "return")}
    out: dict[str, Any] = {}
    for name, value in args.items():
        if name not in hints:
            raise ValueError(f"{prim} has no argument {name!r} (it takes {', '.join(hints)})")
        kind = hints[name]
        # bool is an int to Python, but `weight: true` is a mistake.
        accepted = (int, float) if kind is float else (kind,)
        if not isinstance(value, accepted) or (kind is not bool and isinstance(value, bool)):
            raise ValueError(f"{prim}: {name} must be {kind.__name__}, got {value!r}")
        out[name] = float(value) if kind is float else value
    return out


class Style(BaseModel):
    """One way to reward a motif: a title, what it means, and its primitive recipe."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    title: str = Field(min_length=1, max_length=60)
    blurb: str = Field(min_length=1, max_length=300)
    #: `move` speeds are multiples of the robot's walk speed.
    recipe: Recipe = Field(min_length=1)

    @field_validator("recipe", mode="before")
    @classmethod
    def _parse_recipe(cls, items: Any) -> Recipe:
        """Each item a primitive name or a one-key mapping `{name: {argument: value}}`."""
        if not isinstance(items, list | tuple):
            raise ValueError(f"must be a list of primitives, got {items!r}")
        recipe = []
        for i, item in enumerate(items):
            if isinstance(item, str):
                prim, args = item, {}
            elif isinstance(item, dict) and len(item) == 1:
                ((prim, args),) = item.items()
            elif isinstance(item, tuple | list) and len(item) == 2:
                prim, args = item
            else:
                raise ValueError(
                    f"item {i + 1} must be a primitive name or `name: {{argument: value}}`, got {item!r}"
                )
            if prim not in PRIMITIVES:
                raise ValueError(
                    f"item {i + 1}: {prim!r} is not a reward primitive.{did_you_mean(str(prim), PRIMITIVES)}"
                )
            recipe.append((prim, _check_args(prim, args)))
        if recipe and all(prim in _REGULARISERS for prim, _ in recipe):
            raise ValueError(
                f"only regularisers ({', '.join(p for p, _ in recipe)}): add a term that asks for a behaviour"
            )
        return tuple(recipe)


class Motif(BaseModel):
    """A behaviour: phrases it is recognised by and the styles that can reward it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    key: str = Field(pattern=r"^[a-z_]+$")
    #: Locomotion motifs fine-tune a scene's base policy when it has one.
    family: Literal[
        "locomotion",
        "turning",
        "vertical",
        "dance",
        "playful",
        "acrobatic",
        "posture",
        "calm",
        "manipulation",
    ]
    #: At least two: a motif's score is its best phrase plus a quarter of the runner-up.
    phrases: tuple[str, ...] = Field(min_length=2)
    styles: tuple[Style, ...] = Field(min_length=1)
    #: Motifs that mean the opposite (a handstand is no answer to "rear up"): once this
    #: motif is chosen they are left out, however close their wording is.
    opposites: tuple[str, ...] = ()


def _where(entry: Any, loc: tuple[Any, ...]) -> str:
    """A pydantic error location in words: styles.1.recipe -> style 'Pogo hops', recipe."""
    parts: list[str] = []
    styles = entry.get("styles") if isinstance(entry, dict) else None
    i = 0
    while i < len(loc):
        if loc[i] == "styles" and i + 1 < len(loc) and isinstance(loc[i + 1], int):
            n = loc[i + 1]
            style = styles[n] if isinstance(styles, list) and n < len(styles) else None
            title = style.get("title") if isinstance(style, dict) else None
            parts.append(f"style {title!r}" if title else f"style {n + 1}")
            i += 2
        else:
            parts.append(str(loc[i]) if not isinstance(loc[i], int) else f"item {loc[i] + 1}")
            i += 1
    return ", ".join(parts)


def parse_motifs(data: Any, source: str = "motifs.yaml") -> tuple[Motif, ...]:
    """The motifs of `data` (the data file's parsed YAML), validated: a `MotifDataError` says which
    motif, style and field is wrong."""
    if not isinstance(data, list) or not data:
        raise MotifDataError(f"{source}: expected a list of motifs, got {type(data).__name__}")
    out: list[Motif] = []
    for n, entry in enumerate(data, 1):
        key = entry.get("key") if isinstance(entry, dict) else None
        name = f"motif {key!r} (entry {n})" if key else f"motif entry {n}"
        try:
            out.append(Motif.model_validate(entry))
        except ValidationError as exc:
            problems = "; ".join(
                f"{_where(entry, tuple(e['loc'])) or 'entry'}: {e['msg'].removeprefix('Value error, ')}"
                for e in exc.errors()
            )
            raise MotifDataError(f"{source}: {name}: {problems}") from None
    keys = [m.key for m in out]
    for m in out:
        if keys.count(m.key) > 1:
            raise MotifDataError(f"{source}: motif {m.key!r} is defined {keys.count(m.key)} times")
        for other in m.opposites:
            if other not in keys or other == m.key:
                raise MotifDataError(
                    f"{source}: motif {m.key!r}, opposites: {other!r} is not another motif.{did_you_mean(other, keys)}"
                )
    titles = [s.title for m in out for s in m.styles]
    for m in out:
        for s in m.styles:
            if titles.count(s.title) > 1:
                raise MotifDataError(
                    f"{source}: motif {m.key!r}: style title {s.title!r} is used more than once"
                )
    return tuple(out)


@lru_cache(maxsize=1)
def motifs() -> tuple[Motif, ...]:
    """Every motif of the data file (`data/motifs.yaml`), validated, in library order."""
    return parse_motifs(yaml.safe_load(_DATA.read_text(encoding="utf-8")), _DATA.name)


#: How much a motif's second and third styles trail its first: a close runner-up motif
#: beats a second style of the best one, a distant one does not.
STYLE_PENALTY = 0.12


class Composed(Approach):
    """An approach built by the composer, with the motif it came from and how well that matched."""

    motif: str = Field(exclude=True)
    score: float = Field(exclude=True)


def instantiate(style: Style, profile: RobotProfile, direction: int = 1) -> list[Term]:
    """The terms of `style` for this robot (empty when its core does not apply). `direction` -1: the
    prompt asks to travel backwards, so every `move` goes the other way (motifs are written forward)."""
    terms: list[Term] = []
    v = profile.walk_speed * (-1.0 if direction < 0 else 1.0)
    for prim, kwargs in style.recipe:
        args = dict(kwargs)
        if prim == "move":
            speed = args.get("speed", 1.0) * profile.walk_speed
            # Backwards asked: travel backwards whatever the motif says. A motif written backwards (the
            # "backward" motif's -0.7) used to be flipped forward here: "walk backwards" on the Go1 was
            # rewarded for walking forward.
            args["speed"] = round(-abs(speed) if direction < 0 else speed, 3)
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


def rank_motifs(prompt: str) -> list[tuple[Motif, float]]:
    """Motifs by semantic similarity to `prompt`, best first (ties by library order)."""
    from tabrl.authoring.embedding import cached_embeddings, embed

    library = motifs()
    phrases = [ph for m in library for ph in m.phrases]
    table = cached_embeddings(phrases, "motifs")
    query = embed(prompt.strip() or "move")
    sims = table @ query
    scores = []
    k = 0
    for m in library:
        n = len(m.phrases)
        block = np.sort(sims[k : k + n])[::-1]
        # Best phrase dominates; the runner-up breaks near-ties towards motifs that match broadly.
        scores.append(float(block[0] + 0.25 * block[1]))
        k += n
    order = sorted(range(len(library)), key=lambda i: (-round(scores[i], 5), i))
    return [(library[i], scores[i]) for i in order]


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
    parsed prompt's sign for speed, `tabrl.authoring.intent`).

    A robot that is not a free-floating legged one (a cart-pole, a pendulum, a planar runner, an arm)
    gets approaches that ask for exactly what the parsed prompt measures (`from_intent`) when the
    prompt names something measurable and no manner or rhythm; legged robots, and prompts about a
    manner ("like on the moon") or a rhythm, get the motifs, which know gaits, poses and beats (as
    do approaches beyond the shaping styles when `n` asks for more)."""
    out = from_intent(prompt, profile, n, level=level, task_bonus=task_bonus)
    candidates = [
        (score - STYLE_PENALTY * k, motif, style)
        for motif, score in rank_motifs(prompt)
        for k, style in enumerate(motif.styles)
    ]
    candidates.sort(key=lambda c: -round(c[0], 5))  # stable: library order breaks ties
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
                motif=motif.key,
                score=round(score, 4),
                terms=[t.name for t in terms],
            )
        )
    return out


def from_intent(
    prompt: str,
    profile: RobotProfile,
    n: int = 3,
    *,
    level: str | None = None,
    task_bonus: bool | None = None,
) -> list[Composed]:
    """Up to `n` approaches that reward exactly the measures of the parsed prompt on this robot
    (`tabrl.authoring.intent.measures`), one per shaping style (`tabrl.authoring.shaping`); empty for
    legged robots, for prompts about a manner or a rhythm, and when nothing asked can be measured.
    `level` and `task_bonus` as in `compose` (None: fine_tune when the scene has a base policy)."""
    intent = parse_intent(prompt)
    if profile.legged or intent.rhythm or intent.style or _MANNER.search(prompt.lower()):
        return []
    found = measures(intent, profile)
    chosen = level or ("fine_tune" if profile.has_base_policy else "from_scratch")
    out: list[Composed] = []
    signatures: set[str] = set()
    for style in styles():
        terms = shaped_terms(found, style)
        signature = "|".join(f"{t.name}={t.weight}:{t.expr}" for t in terms)
        if not terms or signature in signatures:
            continue
        signatures.add(signature)
        if chosen == "fine_tune" and task_bonus is not False:
            terms = [*terms, *PRIMITIVES["task_bonus"](profile)]
        says = [t.says for t in terms if t.says]
        out.append(
            Composed(
                name=style.title,
                description=f"{style.blurb} For this robot: {'; '.join(dict.fromkeys(says))}.",
                reward_code=render_code(style.title, prompt, terms, profile.floating),
                level=chosen,
                motif=f"intent:{style.key}",
                score=1.0,
                terms=[t.name for t in terms],
            )
        )
        if len(out) >= n:
            break
    return out
