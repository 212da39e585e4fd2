"""A reward program checked and compiled against a scene: stages 1-3 of the reward compiler.

- the scene context (`scene_context`, cached per process): the scene's model as MJX simulates it, a
  template of its MJX data and a batch of sample states simulated with MuJoCo C;
- `CompiledReward`, what environments call inside `jit`;
- `compile_program`: (1) sandbox, (2) trace (`jax.make_jaxpr` on the scene's real `mjx.Data`
  structure, the jaxpr bounded before XLA sees it), (3) values on the sample states.

`tabrl.rewards.compiler` adds the optional stage 4 (the reward-driven environment's reset + step) and
the public entry points (`check_reward`, `compile_reward`, `compile_measure`). Stage 4 needs
`tabrl.rewards.env`, which builds on this module: keeping stages 1-3 here is what lets the environment
compile a reward without importing the compiler that imports it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from tabrl.rewards import sandbox
from tabrl.rewards.result import RewardCompileError, RewardError
from tabrl.rewards.state import SceneIndex, SemanticState, reference_qpos
from tabrl.runtime import MJX_IMPL
from tabrl.scenes.loader import LoadedScene

MAX_TERMS = 32
#: Graph-size budget of one reward evaluation. Reference rewards trace to 30-150 operations; XLA's
#: compile time grows with the graph (16k chained operations took 26 s to check), so a few thousand
#: bounds the check to seconds.
MAX_JAXPR_EQNS = 4_000
MAX_ARRAY_ELEMENTS = 1_000_000
#: Arithmetic budget of one reward evaluation (matrix products counted as 2*m*n*k). The environment
#: runs the reward for every parallel environment at every step; 100 chained 1000x1000 matmuls
#: (2e11) took 15 s to check and would make training crawl.
MAX_REWARD_FLOPS = 50_000_000
#: Wall-clock budget (s) for compiling the reward with XLA and evaluating it on the probe states
#: (the sandbox's own budget covers running the Python code while it is traced).
COMPILE_TIME_LIMIT_S = 30.0
#: Largest |term| or |total| accepted on a probe state: beyond it, sums overflow float32 to infinity
#: and PPO's value targets lose all precision. Real reward terms are within a few hundred.
MAX_REWARD_MAGNITUDE = 1e6
#: Episode times (s) at which the last sample state is probed again (episodes last 10-20 s).
PROBE_TIMES_S = (0.5, 1.0, 2.0, 5.0, 10.0, 20.0)
_TERM_CHARS = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-")


# --- scene context (cached per process) ------------------------------------------------------


@dataclass
class SceneContext:
    """A loaded scene plus what checking rewards against it needs."""

    loaded: LoadedScene
    card: Any
    index: SceneIndex
    #: The model MJX and MuJoCo C simulate (the scene's, adjusted where MJX needs it).
    model: Any
    #: Notes on adjustments made for MJX (empty when none).
    adjustments: tuple[str, ...]
    #: MJX data with the environment's structure (only its shapes matter for tracing).
    template: Any
    #: Batched MJX data of sample states simulated with MuJoCo C (kinematics filled in).
    probes: Any
    n_probes: int
    action_size: int
    _jit_cache: dict[str, Any] = field(default_factory=dict)


_CONTEXTS: dict[Any, SceneContext] = {}


def scene_context(scene: str | LoadedScene) -> SceneContext:
    """The (cached) context of a scene id or a loaded scene."""
    from tabrl.runtime import configure_jax

    configure_jax()
    key = scene if isinstance(scene, str) else id(scene)
    ctx = _CONTEXTS.get(key)
    if ctx is None and not isinstance(scene, str):
        # A scene loaded by id reaches here as the LoadedScene of that id's context.
        ctx = _CONTEXTS.get(scene.spec.id)
    if ctx is not None and (isinstance(scene, str) or ctx.loaded is scene):
        return ctx
    from tabrl.scenes import load_scene, robot_card

    loaded = load_scene(scene) if isinstance(scene, str) else scene
    # By id the card comes from the disk cache (building it traces a Playground reset).
    card = robot_card(scene) if isinstance(scene, str) else robot_card(loaded)
    index = SceneIndex.build(loaded.mj_model, card)
    model, notes = mjx_compatible(loaded.mj_model) if loaded.env is None else (loaded.mj_model, ())
    template, probes, n = _probe_states(model, loaded.n_substeps)
    ctx = SceneContext(loaded, card, index, model, notes, template, probes, n, int(card.action_size))
    if len(_CONTEXTS) > 16:
        _CONTEXTS.clear()
    _CONTEXTS[key] = ctx
    return ctx


# Fields MuJoCo C fills in mj_forward that the semantic API may read.
_KINEMATIC_FIELDS = (
    "time",
    "qpos",
    "qvel",
    "ctrl",
    "xpos",
    "xquat",
    "xmat",
    "xipos",
    "ximat",
    "subtree_com",
    "cvel",
    "geom_xpos",
    "geom_xmat",
    "site_xpos",
    "site_xmat",
    "actuator_force",
    "sensordata",
    "qacc",
)


def mjx_compatible(model: Any) -> tuple[Any, tuple[str, ...]]:
    """A copy of `model` that MJX's JAX implementation accepts, and what was changed.

    MJX does not implement elliptic friction cones with condim=1 contacts (Menagerie's
    Go1 uses both); such models switch to pyramidal cones. Anything else MJX refuses is
    reported as a TabRLError naming the scene setting.
    """
    import copy

    import mujoco
    from mujoco import mjx

    from tabrl.errors import TabRLError

    out = copy.deepcopy(model)
    notes: list[str] = []
    if out.opt.cone == mujoco.mjtCone.mjCONE_ELLIPTIC and np.any(out.geom_condim == 1):
        out.opt.cone = mujoco.mjtCone.mjCONE_PYRAMIDAL
        notes.append("elliptic friction cones -> pyramidal (MJX has no elliptic cones with condim=1)")
    try:
        mjx.put_model(out, impl=MJX_IMPL)
        mjx.make_data(out, impl=MJX_IMPL)
    except NotImplementedError as exc:
        raise TabRLError(
            f"this scene uses a feature MJX cannot simulate ({exc}); TabRL checks rewards with MJX, so it "
            "cannot train this model yet. Pick one of the robot's Playground tasks if it has one (their "
            "models are MJX-ready), or, for your own MJCF, replace those geoms (e.g. cylinders by capsules)"
        ) from None
    return out, tuple(notes)


def _probe_states(
    model: Any, n_substeps: int, n_rollout: int = 3, steps_each: int = 10, seed: int = 0
) -> tuple[Any, Any, int]:
    """Sample states from MuJoCo C: the reference pose, then random-action rollouts.

    They are copied into MJX data made by `mjx.make_data` (the structure the environment
    uses), so one jitted reward evaluates all of them. Contacts are left empty: values of
    contact terms are not probed, only their shapes (during tracing).
    """
    import jax
    import jax.numpy as jnp
    import mujoco
    from mujoco import mjx

    rng = np.random.default_rng(seed)
    data = mujoco.MjData(model)
    data.qpos[:] = reference_qpos(model)
    mujoco.mj_forward(model, data)
    lo, hi = model.actuator_ctrlrange[:, 0], model.actuator_ctrlrange[:, 1]
    limited = model.actuator_ctrllimited.astype(bool)
    snaps = [_snapshot(data)]
    for _ in range(n_rollout):
        for _ in range(steps_each):
            data.ctrl[:] = np.where(limited, rng.uniform(lo, hi), rng.uniform(-1, 1, model.nu))
            for _ in range(n_substeps):
                mujoco.mj_step(model, data)
        mujoco.mj_forward(model, data)
        if np.all(np.isfinite(data.qpos)) and np.all(np.isfinite(data.qvel)):
            snaps.append(_snapshot(data))
    # Later in an episode: rewards that depend on the clock (s.time, s.phase) are probed there too.
    for t in PROBE_TIMES_S:
        snaps.append({**snaps[-1], "time": np.array(t, dtype=np.float64)})
    template = mjx.make_data(model, impl=MJX_IMPL)
    # Stacked in NumPy, then put on the device once per leaf: jnp.stack on each of MJX data's ~90
    # leaves compiled ~90 small XLA programs (measured: 5 s of building a Go1 env on 2 cores).
    batched = jax.tree.map(
        lambda x: jnp.asarray(np.repeat(np.asarray(x)[None], len(snaps), axis=0)), template
    )
    fields = {
        name: jnp.asarray(
            np.stack([s[name] for s in snaps])
            .reshape((len(snaps), *np.shape(getattr(template, name))))
            .astype(getattr(template, name).dtype)
        )
        for name in _KINEMATIC_FIELDS
    }
    return template, batched.replace(**fields), len(snaps)


def _snapshot(data: Any) -> dict[str, np.ndarray]:
    return {name: np.array(getattr(data, name), dtype=np.float64) for name in _KINEMATIC_FIELDS}


# --- compiled rewards ------------------------------------------------------------------------


class _TermError(Exception):
    """compute_reward returned something that is not a dict of named scalars."""

    def __init__(self, message: str, line: int | None, term: str | None = None) -> None:
        super().__init__(message)
        self.line = line
        self.term = term


@dataclass(frozen=True)
class CompiledReward:
    """A checked reward program bound to one scene.

    `weighted_terms(s, action)` is what environments call inside `jit`; every value is a
    float32 scalar, already multiplied by its weight.
    """

    code: str
    scene_id: str
    terms: tuple[str, ...]
    weights: Mapping[str, float]
    index: SceneIndex
    compute_fn: Callable[..., Any] = field(repr=False)
    terminate_fn: Callable[..., Any] | None = field(repr=False, default=None)
    time_limit_s: float = sandbox.DEFAULT_TIME_LIMIT_S
    #: The function the terms come from: compute_reward(s, action), or a success check's measure(s).
    function: str = sandbox.REQUIRED_FUNCTION

    @property
    def has_termination(self) -> bool:
        """Whether the module defines is_terminated(s)."""
        return self.terminate_fn is not None

    def raw_terms(self, s: SemanticState, action: Any) -> dict[str, Any]:
        """Unweighted terms, as float32 scalars."""
        import jax.numpy as jnp

        with sandbox.Budget(self.time_limit_s):
            out = (
                self.compute_fn(s)
                if self.function == sandbox.MEASURE_FUNCTION
                else self.compute_fn(s, action)
            )
        return _normalise_terms(out, _first_line(self.compute_fn), jnp, self.function)

    def weighted_terms(self, s: SemanticState, action: Any) -> dict[str, Any]:
        """Terms multiplied by their WEIGHTS entry (1.0 when absent)."""
        return {k: v * self.weights.get(k, 1.0) for k, v in self.raw_terms(s, action).items()}

    def is_terminated(self, s: SemanticState) -> Any:
        """The module's termination as a bool scalar (None when it defines none)."""
        import jax.numpy as jnp

        if self.terminate_fn is None:
            return None
        with sandbox.Budget(self.time_limit_s):
            out = self.terminate_fn(s)
        value = jnp.asarray(out)
        if value.shape not in ((), (1,)):
            raise _TermError(
                f"is_terminated must return one value, got shape {value.shape}",
                _first_line(self.terminate_fn),
            )
        return value.reshape(()).astype(bool)

    def with_weights(self, weights: Mapping[str, float]) -> CompiledReward:
        """A copy with some weights changed (unknown term names are an error)."""
        unknown = sorted(set(weights) - set(self.terms))
        if unknown:
            raise RewardCompileError(
                [RewardError(None, f"WEIGHTS names unknown terms {unknown}; terms: {list(self.terms)}")]
            )
        return replace(self, weights={**self.weights, **{k: float(v) for k, v in weights.items()}})


def _first_line(fn: Callable[..., Any]) -> int | None:
    code = getattr(fn, "__code__", None)
    return code.co_firstlineno if code is not None else None


def _normalise_terms(
    out: Any, line: int | None, jnp: Any, fn: str = sandbox.REQUIRED_FUNCTION
) -> dict[str, Any]:
    if not isinstance(out, dict):
        raise _TermError(
            f"{fn} must return a dict of named terms like {{'forward': ..., 'upright': ...}}, "
            f"got {type(out).__name__}",
            line,
        )
    if not out:
        raise _TermError(f"{fn} returned an empty dict; return at least one term", line)
    if len(out) > MAX_TERMS:
        raise _TermError(f"{fn} returned {len(out)} terms; keep it to {MAX_TERMS} or fewer", line)
    terms = {}
    for name, value in out.items():
        if not isinstance(name, str) or not name or len(name) > 40 or not set(name) <= _TERM_CHARS:
            raise _TermError(
                f"term name {name!r} is not valid; use short names of letters, digits, '_' or '-' like 'forward'",
                line,
            )
        try:
            arr = jnp.asarray(value)
        except Exception:
            raise _TermError(f"term {name!r} is a {type(value).__name__}, not a number", line, name) from None
        if arr.dtype.kind not in "biuf":
            raise _TermError(f"term {name!r} has dtype {arr.dtype}; terms must be real numbers", line, name)
        if arr.shape != ():
            raise _TermError(
                f"term {name!r} has shape {tuple(arr.shape)} but every term must be a single number; "
                "reduce it, e.g. jnp.sum(x), jnp.mean(x), jnp.linalg.norm(x) or x[0]",
                line,
                name,
            )
        terms[name] = arr.astype(jnp.float32)
    return terms


# --- the pipeline ----------------------------------------------------------------------------


def _jaxpr_stats(jaxpr: Any) -> tuple[int, int]:
    """(equation count, largest array) of a jaxpr and every jaxpr nested in it."""
    eqns, largest, _ = _jaxpr_cost(jaxpr)
    return eqns, largest


def _eqn_flops(eqn: Any) -> int:
    """Arithmetic of one equation: 2*out*k for contractions, the output size otherwise."""
    out = sum(int(np.prod(getattr(v.aval, "shape", ()), dtype=np.int64)) for v in eqn.outvars)
    if eqn.primitive.name == "dot_general":
        (contract, _), _ = eqn.params["dimension_numbers"]
        lhs_shape = getattr(eqn.invars[0].aval, "shape", ())
        k = int(np.prod([lhs_shape[d] for d in contract], dtype=np.int64)) if contract else 1
        return 2 * out * k
    if eqn.primitive.name in ("conv_general_dilated", "fft"):
        return out * 1_000  # rare in rewards; counted generously
    return out


def _jaxpr_cost(jaxpr: Any) -> tuple[int, int, int]:
    """(equation count, largest array, arithmetic operations) of a jaxpr and its nested jaxprs.

    Loops are counted by their body (once per trip for scans: `length` is known at trace time)."""
    import jax

    eqns, largest, flops = 0, 0, 0
    stack = [(jaxpr, 1)]
    while stack:
        jp, trips = stack.pop()
        for var in (*jp.invars, *jp.outvars):
            aval = getattr(var, "aval", None)
            if aval is not None and hasattr(aval, "shape"):
                largest = max(largest, int(np.prod(aval.shape, dtype=np.int64)))
        for eqn in jp.eqns:
            eqns += 1
            flops += trips * _eqn_flops(eqn)
            for var in eqn.outvars:
                aval = getattr(var, "aval", None)
                if aval is not None and hasattr(aval, "shape"):
                    largest = max(largest, int(np.prod(aval.shape, dtype=np.int64)))
            inner = trips * int(eqn.params.get("length", 1) or 1)
            for param in eqn.params.values():
                for sub in param if isinstance(param, list | tuple) else (param,):
                    if isinstance(sub, jax.extend.core.ClosedJaxpr):
                        stack.append((sub.jaxpr, inner))
                    elif isinstance(sub, jax.extend.core.Jaxpr):
                        stack.append((sub, inner))
    return eqns, largest, flops


def compile_program(
    code: str,
    scene: str | LoadedScene,
    *,
    time_limit_s: float = sandbox.DEFAULT_TIME_LIMIT_S,
    contract: str = "reward",
) -> tuple[CompiledReward | None, list[RewardError], list[str]]:
    """Stages 1-3 (sandbox, trace, values) of a reward program (`contract="success"`: a success
    check's measure) on `scene`: (the compiled program or None, its errors, its term names). Never
    raises because of the program; scene problems raise TabRLError."""
    ns, errors = sandbox.load(code, time_limit_s, contract=contract)
    if ns is None:
        return None, errors, []
    ctx = scene_context(scene)
    success = contract == "success"
    weights = {} if success else dict(ns.get(sandbox.WEIGHTS_NAME) or {})
    candidate = CompiledReward(
        code=code,
        scene_id=ctx.loaded.spec.id,
        terms=(),
        weights={k: float(v) for k, v in weights.items()},
        index=ctx.index,
        compute_fn=ns[sandbox.MEASURE_FUNCTION if success else sandbox.REQUIRED_FUNCTION],
        terminate_fn=None if success else ns.get(sandbox.OPTIONAL_FUNCTION),
        time_limit_s=time_limit_s,
        function=sandbox.MEASURE_FUNCTION if success else sandbox.REQUIRED_FUNCTION,
    )
    terms, errors = _trace(candidate, ctx)
    if errors:
        return None, errors, terms
    compiled = replace(
        candidate, terms=tuple(terms), weights={t: candidate.weights.get(t, 1.0) for t in terms}
    )
    unknown = sorted(set(weights) - set(terms))
    if unknown:
        line = assignment_line(code, sandbox.WEIGHTS_NAME)
        return (
            None,
            [
                RewardError(
                    line,
                    f"WEIGHTS names {unknown} but compute_reward returns no such terms "
                    f"(terms: {terms}); fix the names or remove them",
                )
            ],
            terms,
        )
    errors = _check_values(compiled, ctx)
    return (None if errors else compiled), errors, terms


def assignment_line(code: str, name: str) -> int | None:
    """Line of the first top-level assignment of `name` in `code` (for errors about it)."""
    for i, line in enumerate(code.splitlines(), start=1):
        if line.lstrip().startswith(name):
            return i
    return None


def _reward_fn(reward: CompiledReward, index: SceneIndex) -> Callable[..., Any]:
    import jax.numpy as jnp

    def fn(data: Any, action: Any, prev_action: Any, task_reward: Any) -> tuple[dict[str, Any], Any]:
        s = SemanticState(index, data, prev_action, task_reward)
        terms = reward.raw_terms(s, action)
        done = reward.is_terminated(s)
        return terms, (jnp.zeros((), bool) if done is None else done)

    return fn


def _trace(reward: CompiledReward, ctx: SceneContext) -> tuple[list[str], list[RewardError]]:
    import jax
    import jax.numpy as jnp

    fn = _reward_fn(reward, ctx.index)
    action = jnp.zeros(ctx.action_size)
    try:
        closed, shapes = jax.make_jaxpr(fn, return_shape=True)(ctx.template, action, action, jnp.zeros(()))
    except _TermError as exc:
        line = (
            (_term_line(reward.code, exc.term) if exc.term else None)
            or _return_line(reward.code, reward.function)
            or exc.line
        )
        return [], [RewardError(line, str(exc))]
    except Exception as exc:
        return [], [sandbox.error_from_exception(exc, "while tracing the reward on the scene")]
    terms = list(shapes[0])
    eqns, largest, flops = _jaxpr_cost(closed.jaxpr)
    if eqns > MAX_JAXPR_EQNS:
        return terms, [
            RewardError(
                None,
                f"the reward builds a program of {eqns} operations (limit {MAX_JAXPR_EQNS}); "
                "replace Python loops with vectorised jnp operations",
            )
        ]
    if largest > MAX_ARRAY_ELEMENTS:
        return terms, [
            RewardError(
                None,
                f"the reward creates an array of {largest} elements (limit "
                f"{MAX_ARRAY_ELEMENTS}); work with the state's own small arrays",
            )
        ]
    if flops > MAX_REWARD_FLOPS:
        return terms, [
            RewardError(
                None,
                f"the reward needs about {flops:.2g} arithmetic operations per evaluation (limit "
                f"{MAX_REWARD_FLOPS:.2g}); it runs for every environment at every step: use the state's "
                "own small arrays instead of large matrix products",
            )
        ]
    return terms, []


def _check_values(reward: CompiledReward, ctx: SceneContext) -> list[RewardError]:
    import jax
    import jax.numpy as jnp

    key = f"values:{reward.code}"
    run = ctx._jit_cache.get(key)
    if run is None:
        run = jax.jit(jax.vmap(_reward_fn(reward, ctx.index)))
        ctx._jit_cache.clear()  # one program at a time: the cache only helps repeated checks
        ctx._jit_cache[key] = run
    rng = np.random.default_rng(1)
    actions = jnp.asarray(rng.uniform(-1, 1, (ctx.n_probes, ctx.action_size)), jnp.float32)
    prev = jnp.asarray(rng.uniform(-1, 1, (ctx.n_probes, ctx.action_size)), jnp.float32)
    try:
        terms, _ = _within(COMPILE_TIME_LIMIT_S, run, ctx.probes, actions, prev, jnp.zeros(ctx.n_probes))
    except TimeoutError:
        ctx._jit_cache.clear()
        return [
            RewardError(
                None,
                f"compiling and evaluating the reward took longer than {COMPILE_TIME_LIMIT_S:g} s; "
                "make it smaller: fewer operations, no long Python loops, small arrays",
            )
        ]
    except Exception as exc:
        return [sandbox.error_from_exception(exc, "while evaluating the reward on sample states")]
    errors = _check_nonfinite(reward, terms)
    return errors or _check_magnitudes(reward, terms)


def _within(seconds: float, fn: Callable[..., Any], *args: Any) -> Any:
    """`fn(*args)` in a helper thread, TimeoutError after `seconds`.

    XLA's compile cannot be interrupted; on timeout the check answers at once and the compile
    finishes in the background (its graph is already bounded by the operation budgets)."""
    import concurrent.futures

    pool = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="reward-compile")
    try:
        return pool.submit(fn, *args).result(timeout=seconds)
    except concurrent.futures.TimeoutError:
        raise TimeoutError from None
    finally:
        pool.shutdown(wait=False)


def _check_magnitudes(reward: CompiledReward, terms: Mapping[str, Any]) -> list[RewardError]:
    """Terms and their weighted float32 sum must stay finite and below `MAX_REWARD_MAGNITUDE`."""
    total = np.zeros(np.shape(next(iter(terms.values()))) if terms else (), np.float32)
    errors = []
    with np.errstate(over="ignore", invalid="ignore"):
        for name, values in terms.items():
            weighted = np.asarray(values, np.float32) * np.float32(reward.weights.get(name, 1.0))
            total = total + weighted
            peak = float(np.max(np.abs(weighted.astype(np.float64)))) if weighted.size else 0.0
            if not np.isfinite(peak) or peak > MAX_REWARD_MAGNITUDE:
                errors.append(
                    RewardError(
                        _term_line(reward.code, name),
                        f"term {name!r} (weighted) reaches {peak:.3g} on a sample state, over the limit of "
                        f"{MAX_REWARD_MAGNITUDE:g}: rewards that large overflow when summed and stop PPO "
                        "learning; scale it down or bound it, e.g. jnp.clip(x, -10.0, 10.0) or jnp.tanh(x)",
                    )
                )
    if not errors and not np.isfinite(total).all():
        errors.append(
            RewardError(
                _return_line(reward.code),
                "the sum of the terms overflows to infinity on a sample state; scale the terms down",
            )
        )
    return errors


def _check_nonfinite(reward: CompiledReward, terms: Mapping[str, Any]) -> list[RewardError]:
    errors = []
    for name, values in terms.items():
        values = np.asarray(values)
        bad = ~np.isfinite(values)
        if bad.any():
            which = "NaN" if np.isnan(values).any() else "infinite"
            where = "at the reference pose" if bad[0] else "on a sample state after random actions"
            errors.append(
                RewardError(
                    _term_line(reward.code, name),
                    f"term {name!r} is {which} {where}; guard divisions (x / (y + 1e-6)), square roots "
                    "(jnp.sqrt(jnp.maximum(x, 0.0))), logs (jnp.log(x + 1e-6)) and arccos/arcsin (jnp.clip(x, -1, 1))",
                )
            )
    return errors


def _return_line(code: str, function: str = sandbox.REQUIRED_FUNCTION) -> int | None:
    """Line of the function's (compute_reward's) last `return` (where a malformed result comes from)."""
    import ast

    for node in ast.parse(code).body:
        if isinstance(node, ast.FunctionDef) and node.name == function:
            returns = [n.lineno for n in ast.walk(node) if isinstance(n, ast.Return)]
            return max(returns) if returns else node.lineno
    return None


def _term_line(code: str, name: str) -> int | None:
    for pattern in (f'"{name}"', f"'{name}'"):
        for i, line in enumerate(code.splitlines(), start=1):
            if pattern in line:
                return i
    return None
