"""The MJX backend: Brax's PPO (`brax.training.agents.ppo.train`) over an MJX environment.

TabRL drives Brax through its `policy_params_fn` hook (called on the host after every training
epoch): TabRL's own evaluation (`Evaluator`) on full-length episodes, then the session's
checkpoint, event, cancel and target checks. The Brax/Playground workarounds this path needs
live here and nowhere else.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from tabrl.errors import TabRLError
from tabrl.training.session import EnvSpec, StopTraining, TrainingSession


def configure_xla_for_cpu() -> None:
    """Cheaper XLA:CPU compiles, set before JAX starts its backend (no effect afterwards).

    `--xla_llvm_disable_expensive_passes`: measured under load, it took an MJX step compile from
    9.4 s to 5.0 s; on a quiet machine it makes no measurable difference, to compiles or to
    throughput (bench/README.md). Skipped when a CUDA plugin is present, where GPU kernels may
    want the full LLVM pipeline.
    """
    import importlib.util

    if importlib.util.find_spec("jax_cuda12_plugin") or importlib.util.find_spec("jax_cuda13_plugin"):
        return
    flag = "--xla_llvm_disable_expensive_passes=true"
    current = os.environ.get("XLA_FLAGS", "")
    if "xla_llvm_disable_expensive_passes" in current:
        return
    try:
        from jax._src import xla_bridge

        if xla_bridge.backends_are_initialized():
            return
    except (ImportError, AttributeError):  # pragma: no cover - private API moved
        pass
    os.environ["XLA_FLAGS"] = f"{current} {flag}".strip()


def _obs_sizes(size: Any) -> dict[str, int]:
    if isinstance(size, dict):
        return {k: int(v[0]) if isinstance(v, tuple | list) else int(v) for k, v in size.items()}
    return {"state": int(size[0]) if isinstance(size, tuple | list) else int(size)}


class _NoEvalEnv:
    """Stand-in for Brax's internal evaluator, which TabRL does not use (`run_evals=False`).

    Brax builds its evaluator even when it never runs it, and eagerly compiles that evaluator's
    reset -- a full MJX compile (5-10 s on CPU) for nothing. This env's reset is a few zeros.
    """

    def __init__(self, observation_size: Any, action_size: int) -> None:
        self.observation_size = observation_size
        self.action_size = action_size

    def reset(self, rng: Any) -> Any:
        import jax
        import jax.numpy as jnp
        from mujoco_playground import State

        batch = rng.shape[:-1]
        size = self.observation_size
        obs = (
            {k: jnp.zeros((*batch, *v)) for k, v in size.items()}
            if isinstance(size, dict)
            else jnp.zeros((*batch, size if isinstance(size, int) else size[0]))
        )
        zero = jnp.zeros(batch)
        info = {"steps": zero, "truncation": zero}
        return State(data=jax.numpy.zeros(batch), obs=obs, reward=zero, done=zero, metrics={}, info=info)

    def step(self, state: Any, action: Any) -> Any:  # pragma: no cover - never run
        return state


def _no_eval_wrap(env: Any, episode_length: int, action_repeat: int, randomization_fn: Any = None) -> Any:
    from mujoco_playground import wrapper

    if isinstance(env, _NoEvalEnv):
        return env
    return wrapper.wrap_for_brax_training(
        env, episode_length=episode_length, action_repeat=action_repeat, randomization_fn=randomization_fn
    )


class MjxBackend:
    """Brax PPO over the scene's MJX environment (see the module docstring)."""

    name = "mjx"

    def __init__(self, session: TrainingSession, reward_source: str | None, reward_name: str | None) -> None:
        configure_xla_for_cpu()
        from tabrl.training.envs import SharedTraceEnv, make_training_env

        self.session = session
        scene_id = session.scene_id
        if session.commands is not None or session.config.command_range is not None:
            raise TabRLError(
                "velocity commands and command programs run on the mujoco backend: set backend=mujoco"
            )
        if session.config.symmetry_cost > 0:
            raise TabRLError(
                "symmetry_cost runs on the mujoco backend: set backend=mujoco or symmetry_cost=0"
            )
        tenv = make_training_env(scene_id, reward_source, reward_name)
        # The observation size below and the evaluator share one trace of reset (SharedTraceEnv).
        self.env = SharedTraceEnv(tenv.env)
        self.observation_size = self.env.observation_size
        env = self.env
        n_substeps = round(float(getattr(env, "dt", 0.02)) / float(getattr(env, "sim_dt", 0.02))) or 1
        self.spec = EnvSpec(
            scene_id=tenv.scene_id, reward_source=tenv.reward_source, reward_name=tenv.reward_name,
            reward_terms=tenv.reward_terms, obs_sizes=_obs_sizes(self.observation_size),
            action_size=int(env.action_size), observation_is_dict=isinstance(self.observation_size, dict),
            episode_length=tenv.episode_length, mj_model=tenv.mj_model, n_substeps=n_substeps,
        )  # fmt: skip

    def compile_message(self, compile_s: str) -> str:
        """What the `compiling` event says."""
        return f"compiling the training step and evaluation (~{compile_s} on a cold cache)"

    def train(self) -> Any:
        """Run Brax's PPO; the final parameters (None when stopped early)."""
        from brax.training.agents.ppo import train as ppo

        from tabrl.training.evaluation import Evaluator
        from tabrl.training.networks import network_factory

        session, config, env = self.session, self.session.config, self.env
        eval_length = config.eval_episode_length or self.spec.episode_length
        evaluator: Evaluator | None = None
        fine_tuning = session.restore_params is not None and not session.resumed

        def on_params(current_step: int, make_policy: Any, params: Any) -> None:
            nonlocal evaluator
            step = session.step_offset + int(current_step)
            if evaluator is None:
                evaluator = Evaluator(
                    env, make_policy, num_envs=config.num_eval_envs, episode_length=eval_length,
                    action_repeat=config.action_repeat, deterministic=config.deterministic_eval,
                    seed=config.seed,
                )  # fmt: skip
            if current_step == 0 and not fine_tuning:
                # From scratch: a random policy's score only delays training. Resuming: the
                # checkpoint was evaluated already. Fine-tuning: the base policy's score under the
                # new reward is the baseline a person wants to see, so that one is evaluated. Here
                # the evaluation compiles in a background thread while Brax traces its training
                # epoch: cold, the first evaluation came ~3 s sooner (bench/README.md E2).
                evaluator.prepare(params)
                session.training_resumed()
                return
            session.training_paused(step)
            session.record_eval(step, params, evaluator(params), baseline=current_step == 0)

        restore_params, restore_value = session.restore_params, session.restore_value
        if fine_tuning and not restore_value and config.value_warmup is not False:
            restore_params = self._warm_up_value(restore_params)
            restore_value = True
        _, final_params, _ = ppo.train(
            environment=env,
            num_timesteps=session.planned,
            # Brax calls back num_evals - 1 times after the initial call; TabRL's evaluations ride on those.
            num_evals=session.n_iter + 1,
            run_evals=False,
            eval_env=_NoEvalEnv(self.observation_size, env.action_size),
            num_eval_envs=1,
            wrap_env_fn=_no_eval_wrap,
            episode_length=config.episode_length,
            action_repeat=config.action_repeat,
            num_envs=config.num_envs,
            batch_size=config.batch_size,
            unroll_length=config.unroll_length,
            num_minibatches=config.num_minibatches,
            num_updates_per_batch=config.num_updates_per_batch,
            learning_rate=config.learning_rate,
            entropy_cost=config.entropy_cost,
            discounting=config.discounting,
            gae_lambda=config.gae_lambda,
            clipping_epsilon=config.clipping_epsilon,
            reward_scaling=config.reward_scaling,
            max_grad_norm=config.max_grad_norm,
            normalize_observations=config.normalize_observations,
            normalize_observations_std_eps=config.normalize_observations_std_eps,
            network_factory=network_factory(config),
            seed=config.seed,
            restore_params=restore_params,
            restore_value_fn=restore_value,
            policy_params_fn=on_params,
        )
        return final_params

    def _warm_up_value(self, params: Any) -> Any:
        """The base `params` with a value function fitted to the new reward (`value_warmup`)."""
        import jax
        from brax.training.acme import running_statistics

        from tabrl.training.networks import network_factory
        from tabrl.training.value_warmup import warm_up_value

        config, env = self.session.config, self.env
        obs_shape = jax.tree.map(lambda x: x.shape, jax.eval_shape(env.reset, jax.random.PRNGKey(0)).obs)
        normalize = running_statistics.normalize if config.normalize_observations else (lambda x, _: x)
        network = network_factory(config)(obs_shape, env.action_size, preprocess_observations_fn=normalize)
        fitted, report = warm_up_value(
            env, network, params, episode_length=config.episode_length, num_envs=config.num_envs,
            discounting=config.discounting, reward_scaling=config.reward_scaling, seed=config.seed,
        )  # fmt: skip
        logging.getLogger("tabrl.training").info(
            "value warm-up: %d samples, loss %.3g -> %.3g, %.1f s",
            report.samples, report.loss_before, report.loss_after, report.seconds,
        )  # fmt: skip
        return fitted


__all__ = ["MjxBackend", "StopTraining", "configure_xla_for_cpu"]
