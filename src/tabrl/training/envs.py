"""The environment a run trains on: the scene's task, or the scene driven by a reward module.

- No reward given and the scene is a Playground task: the Playground `MjxEnv` itself (its own
  reward terms are already in `metrics["reward/<name>"]`); this is the reference environment
  and the cheapest to compile.
- A reward given, or a Menagerie/MJCF scene: `tabrl.rewards.make_env(scene, reward)`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tabrl.errors import TabRLError


@dataclass
class TrainingEnv:
    """An MJX env plus what the run records about it."""

    env: Any
    scene_id: str
    #: Reward source text (None: the scene's own task reward).
    reward_source: str | None
    reward_name: str
    #: Reward term names (`metrics["reward/<name>"]`), when known before the first step.
    reward_terms: tuple[str, ...]
    #: The scene's own episode length (evaluation uses it unless the config says otherwise).
    episode_length: int
    #: Physics model, for time estimates.
    mj_model: Any


#: The `pmap` axis name of Brax's PPO (`brax.training.agents.ppo.train._PMAP_AXIS_NAME`). Part of
#: JAX's trace-cache key: programs traced under the same axis share the env's traces.
PMAP_AXIS_NAME = "i"


class SharedTraceEnv:
    """The same env, with `reset` and `step` each called through one `jax.jit`.

    Every program that vmaps the env re-traces the MJX pipeline in Python (0.5-1 s per function
    on CPU). Through one `jax.jit` per function, JAX reuses a trace whenever the per-env avals
    and the trace context match. The context includes the `pmap` axis name, so `observation_size`
    traces `reset` under Brax's axis (`PMAP_AXIS_NAME`), as Brax's
    initial reset and TabRL's evaluator do: the three share one trace. (Brax's training step
    carries per-device types in its scan, so its trace of `step` is its own.) XLA inlines the
    nested calls: the compiled programs and their speed are unchanged.
    """

    def __init__(self, env: Any) -> None:
        import jax

        self.env = env
        self._reset = jax.jit(env.reset)
        self._step = jax.jit(env.step)
        self._observation_size: Any = None

    def reset(self, rng: Any) -> Any:
        """`env.reset`, through the shared jit."""
        return self._reset(rng)

    def step(self, state: Any, action: Any) -> Any:
        """`env.step`, through the shared jit."""
        return self._step(state, action)

    @property
    def observation_size(self) -> Any:
        """Observation size from the abstract shape of the shared `reset` (computed once)."""
        if self._observation_size is None:
            import jax

            def reset_one(key: Any) -> Any:
                return self.reset(key).obs

            keys = jax.ShapeDtypeStruct((1, 2), jax.numpy.uint32)
            obs = jax.eval_shape(jax.pmap(reset_one, axis_name=PMAP_AXIS_NAME), keys)
            self._observation_size = (
                jax.tree.map(lambda x: x.shape[1:], obs) if isinstance(obs, dict) else obs.shape[-1]
            )
        return self._observation_size

    @property
    def unwrapped(self) -> Any:
        """The innermost env."""
        return getattr(self.env, "unwrapped", self.env)

    def __getattr__(self, name: str) -> Any:
        # Only reached for attributes this class does not define: action_size, mjx_model, dt, ...
        if name == "env":  # not yet set (copy/pickle): avoid infinite recursion
            raise AttributeError(name)
        return getattr(self.env, name)


class RepeatedActions:
    """`env` acting every `repeat` control steps: each action is held for `repeat` steps, their rewards
    summed, as Brax's `action_repeat` trains it (`brax.envs.wrappers.training.EpisodeWrapper`). Rollouts
    of a policy trained with `action_repeat` > 1 (checks, videos, the live view) step this env, so the
    policy acts at the rate it learned; `dt` is the time between its actions. Pure, like the env.
    """

    def __init__(self, env: Any, repeat: int) -> None:
        self.env = env
        self.repeat = int(repeat)

    def reset(self, rng: Any) -> Any:
        """`env.reset`."""
        return self.env.reset(rng)

    def step(self, state: Any, action: Any) -> Any:
        """`repeat` steps of `env` with the same action; the reward is their sum."""
        import jax

        def one(s: Any, _: Any) -> tuple[Any, Any]:
            nxt = self.env.step(s, action)
            return nxt, nxt.reward

        state, rewards = jax.lax.scan(one, state, None, length=self.repeat)
        return state.replace(reward=rewards.sum(axis=0))

    @property
    def dt(self) -> float:
        """Seconds between two actions."""
        return float(self.env.dt) * self.repeat

    def __getattr__(self, name: str) -> Any:
        if name == "env":  # not yet set (copy/pickle): avoid infinite recursion
            raise AttributeError(name)
        return getattr(self.env, name)


def mjx_policy_env(manifest: Any) -> TrainingEnv:
    """The MJX env a trained policy acts in (`manifest`: its `PolicyManifest`): its scene with its
    reward, stepped at the policy's own control rate (`RepeatedActions` when it trained with
    `action_repeat` > 1). Checks, videos and the server-stepped live view use this one. The observer
    (`tabrl.training.observe`, for a simulator elsewhere) builds the plain env: an observation does not
    depend on the control rate."""
    tenv = make_training_env(manifest.scene_id, manifest.reward.source, manifest.reward.name)
    if manifest.action_repeat > 1:
        tenv.env = RepeatedActions(tenv.env, manifest.action_repeat)
    return tenv


def rewards_available() -> bool:
    """Whether `tabrl.rewards.make_env` can be imported (issue 3's package)."""
    try:
        import tabrl.rewards as rewards

        return callable(rewards.make_env)
    except (ImportError, AttributeError):
        return False


def make_training_env(
    scene_id: str, reward_source: str | None = None, reward_name: str | None = None
) -> TrainingEnv:
    """The env for `scene_id` with `reward_source` (Python reward module text; None: the task's reward)."""
    from tabrl.scenes import load_scene

    loaded = load_scene(scene_id)
    if reward_source is None and loaded.env is not None:
        env = loaded.env
        return TrainingEnv(
            env=env,
            scene_id=loaded.spec.id,
            reward_source=None,
            reward_name="task",
            reward_terms=(),
            episode_length=_episode_length(env),
            mj_model=loaded.mj_model,
        )
    if not rewards_available():
        raise TabRLError(
            f"training {scene_id} with a reward module needs tabrl.rewards (not installed in this checkout); "
            "train a Playground task without --reward, or update TabRL"
        )
    from tabrl.rewards import make_env

    env = make_env(loaded, reward_source)
    terms = tuple(getattr(env, "term_names", ()) or ())
    return TrainingEnv(
        env=env,
        scene_id=loaded.spec.id,
        reward_source=reward_source,
        reward_name=reward_name or ("custom" if reward_source is not None else "default"),
        reward_terms=terms,
        episode_length=_episode_length(env),
        mj_model=loaded.mj_model,
    )


def _episode_length(env: Any) -> int:
    length = getattr(env, "episode_length", None)
    if isinstance(length, int) and length > 0:
        return length
    cfg = getattr(env, "_config", None)
    try:
        return int(cfg.episode_length)  # type: ignore[union-attr]
    except (AttributeError, TypeError, ValueError):
        return 1000


__all__ = [
    "PMAP_AXIS_NAME",
    "RepeatedActions",
    "SharedTraceEnv",
    "TrainingEnv",
    "make_training_env",
    "mjx_policy_env",
    "rewards_available",
]
