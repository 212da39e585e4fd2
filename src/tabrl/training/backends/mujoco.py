"""The MuJoCo C backend: PPO with batched MuJoCo C rollouts on threads and jitted minibatch updates.

The loop reads top to bottom, as CleanRL's and mjbatch's examples do:

    for each update:
        rollout   -- `unroll_length` control steps of every simulation (`HostSceneEnv`, C threads);
                     the policy samples actions through one jitted call per step
        normalise -- the observation normaliser absorbs the batch (Brax's running statistics)
        learn     -- `num_updates_per_batch` epochs of `num_minibatches` minibatches of whole unrolls,
                     Brax's PPO loss (GAE inside, as Brax computes it), optax Adam; one jitted call
        evaluate  -- every few updates: deterministic episodes on separate simulations, then the
                     session's checkpoint / event / cancel / target checks

The networks, normaliser, loss and parameter layout are Brax's (`ppo_networks`, `losses`,
`running_statistics`), so a policy from this backend is the same format as one from `mjx`.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from tabrl.errors import TabRLError
from tabrl.training.config import TrainConfig
from tabrl.training.evaluation import EvalResult
from tabrl.training.session import EnvSpec, TrainingSession
from tabrl.training.symmetry import MirrorMaps, mirror_maps

log = logging.getLogger("tabrl.training")


def env_config_for(config: TrainConfig, episode_length: int | None) -> Any:
    """The `EnvConfig` a training config asks for (episode length, action scale, randomisation)."""
    from tabrl.rewards.env import EnvConfig

    return EnvConfig(
        episode_length=episode_length,
        action_scale=config.action_scale,
        friction_range=tuple(config.friction_range) if config.friction_range else None,  # type: ignore[arg-type]
        mass_scale_range=tuple(config.mass_scale_range) if config.mass_scale_range else None,  # type: ignore[arg-type]
        push_velocity=config.push_velocity,
        push_interval_s=config.push_interval_s,
        command_range=tuple(config.command_range) if config.command_range else None,  # type: ignore[arg-type]
        command_resample_s=config.command_resample_s,
    )


@dataclass
class Rollout:
    """One update's experience, [unrolls, unroll_length, ...] as Brax's loss reads it."""

    obs: np.ndarray
    next_obs: np.ndarray
    raw_action: np.ndarray
    log_prob: np.ndarray
    #: The policy's distribution parameters when acting (Brax's loss reports the KL against them).
    dist_params: np.ndarray
    reward: np.ndarray
    done: np.ndarray
    truncation: np.ndarray

    def transition(self) -> Any:
        """Brax's `Transition` of this rollout."""
        from brax.training import types

        return types.Transition(
            observation=self.obs,
            action=self.raw_action,
            reward=self.reward,
            discount=1.0 - self.done,
            next_observation=self.next_obs,
            extras={
                "policy_extras": {
                    "raw_action": self.raw_action,
                    "log_prob": self.log_prob,
                    "distribution_params": self.dist_params,
                },
                "state_extras": {"truncation": self.truncation},
            },
        )


class MujocoBackend:
    """PPO on MuJoCo C simulations (see the module docstring)."""

    name = "mujoco"

    def __init__(self, session: TrainingSession, reward_source: str | None, reward_name: str | None) -> None:
        from tabrl.rewards.compiler import scene_context
        from tabrl.rewards.env import scene_episode_length
        from tabrl.rewards.host_env import HostSceneEnv

        self.session = session
        config = session.config
        if config.action_repeat != 1:
            raise TabRLError("the mujoco backend steps one action per control step: set action_repeat=1")
        ctx = scene_context(session.scene_id)
        self.env = HostSceneEnv(
            ctx, reward_source, env_config_for(config, config.episode_length),
            num_envs=config.num_envs, seed=config.seed,
        )  # fmt: skip
        eval_length = config.eval_episode_length or scene_episode_length(ctx.loaded)
        self.eval_env = HostSceneEnv(
            ctx, self.env.reward, env_config_for(config, eval_length),
            num_envs=config.num_eval_envs, seed=config.seed + 1,
        )  # fmt: skip
        self.eval_length = eval_length
        if session.commands is not None:
            self._follow(session.commands, config)
        self.spec = EnvSpec(
            scene_id=ctx.loaded.spec.id, reward_source=reward_source, reward_name=reward_name or _name(reward_source),
            reward_terms=self.env.term_names, obs_sizes={"state": self.env.observation_size},
            action_size=self.env.action_size, observation_is_dict=False,
            episode_length=scene_episode_length(ctx.loaded), mj_model=self.env.mj_model,
            n_substeps=self.env.n_substeps, commands=session.commands,
        )  # fmt: skip

    def _follow(self, code: str, config: TrainConfig) -> None:
        from tabrl.rewards.commands import compile_commands

        if config.command_range is None:
            raise TabRLError(
                "a command program needs a policy that follows velocity commands: fine-tune a joystick base "
                "policy (tabrl base list) or set command_range"
            )
        program = compile_commands(code, tuple(config.command_range))  # type: ignore[arg-type]
        self.env.follow(program)
        self.eval_env.follow(program)

    def compile_message(self, _compile_s: str) -> str:
        """What the `compiling` event says."""
        return (
            "compiling the policy, the reward and the PPO update (a few seconds; MuJoCo C needs no compile)"
        )

    # --- the loop ---------------------------------------------------------------------------------

    def train(self) -> Any:
        """Train for the session's planned steps; the final parameters."""
        import jax

        session, config = self.session, self.session.config
        mirror = mirror_maps(self.env.conventions) if config.symmetry_cost > 0 else None
        learner = _Learner(config, self.env.observation_size, self.env.action_size, session, mirror)
        key = jax.random.PRNGKey(config.seed)
        unrolls_per_env = (config.batch_size * config.num_minibatches) // config.num_envs
        updates = session.planned // config.steps_per_update
        per_eval = max(1, updates // session.n_iter)
        fine_tuning = session.restore_params is not None and not session.resumed
        if fine_tuning:  # the base policy's score under the new reward: the baseline
            session.record_eval(session.step_offset, learner.params(), self.evaluate(learner), baseline=True)
            if not session.restore_value and config.value_warmup:  # off unless asked (None): measured
                key = self.warm_up_value(learner, key)
        obs = self.env.reset()
        session.training_resumed()
        for update in range(1, updates + 1):
            key, k_roll, k_learn = jax.random.split(key, 3)
            parts = []
            for _ in range(unrolls_per_env):
                rollout, obs = self.rollout(learner, obs, k_roll)
                k_roll = jax.random.fold_in(k_roll, 1)
                parts.append(rollout)
            learner.learn(_concat(parts), k_learn)
            step = session.step_offset + update * config.steps_per_update
            if update % per_eval == 0 or update == updates or session.cancel.cancelled:
                session.training_paused(step)
                session.record_eval(step, learner.params(), self.evaluate(learner))
        return learner.params()

    def warm_up_value(self, learner: _Learner, key: Any) -> Any:
        """Fit the learner's fresh value function to the base policy's returns under the new reward
        (`tabrl.training.value_warmup`): two return horizons of every simulation, the first one's
        states fitted. The next key."""
        import jax
        import jax.numpy as jnp

        from tabrl.training.value_warmup import WarmupReport, discounted_returns, fit, horizon, usable_steps

        start, config = time.perf_counter(), self.session.config
        steps = max(config.unroll_length, min(config.episode_length, 2 * horizon(config.discounting)))
        obs = self.env.reset()
        seen, rewards, dones = [], [], []
        for _ in range(steps):
            action, _extras, key = learner.act(obs, key)
            out = self.env.step(action)
            seen.append(obs)
            rewards.append(out.reward)
            dones.append(np.maximum(out.done, out.truncation))
            obs = out.obs
        returns = discounted_returns(
            jnp.asarray(np.stack(rewards)) * config.reward_scaling, jnp.asarray(np.stack(dones), jnp.float32),
            config.discounting,
        )  # fmt: skip
        keep = usable_steps(steps, config.discounting)
        key, sub = jax.random.split(key)
        value, before, after = fit(
            learner.value_apply, learner.normalizer, learner.network_params.value,
            jnp.asarray(np.stack(seen)[:keep].reshape(-1, obs.shape[1])), returns[:keep].reshape(-1),
            updates=500, learning_rate=1e-3, batch_size=1024, key=sub,
        )  # fmt: skip
        learner.set_value(value)
        report = WarmupReport(keep * self.env.num_envs, before, after, time.perf_counter() - start)
        log.info("value warm-up: %s", report.to_dict())
        return key

    def rollout(self, learner: _Learner, obs: np.ndarray, key: Any) -> tuple[Rollout, np.ndarray]:
        """`unroll_length` steps of every simulation under the current (stochastic) policy."""
        t_len, n = self.session.config.unroll_length, self.env.num_envs
        buf = {
            "obs": np.empty((t_len, n, obs.shape[1]), np.float32),
            "next_obs": np.empty((t_len, n, obs.shape[1]), np.float32),
            "raw_action": np.empty((t_len, n, self.env.action_size), np.float32),
            "log_prob": np.empty((t_len, n), np.float32),
            "dist_params": np.empty((t_len, n, 2 * self.env.action_size), np.float32),
            "reward": np.empty((t_len, n), np.float32),
            "done": np.empty((t_len, n), np.float32),
            "truncation": np.empty((t_len, n), np.float32),
        }
        for t in range(t_len):
            action, extras, key = learner.act(obs, key)
            out = self.env.step(action)
            buf["obs"][t] = obs
            buf["raw_action"][t], buf["log_prob"][t] = extras["raw_action"], extras["log_prob"]
            buf["dist_params"][t] = extras["distribution_params"]
            buf["next_obs"][t], buf["reward"][t] = out.obs, out.reward
            buf["done"][t], buf["truncation"][t] = out.done, out.truncation
            obs = out.obs
        # [T, N, ...] -> [N, T, ...]: one unroll per simulation.
        return Rollout(**{k: np.swapaxes(v, 0, 1) for k, v in buf.items()}), obs

    def evaluate(self, learner: _Learner) -> EvalResult:
        """Deterministic episodes of `eval_length` steps on the evaluation simulations."""
        start, env = time.perf_counter(), self.eval_env
        obs = env.reset()
        alive = np.ones(env.num_envs, bool)
        total = np.zeros(env.num_envs)
        terms = {name: np.zeros(env.num_envs) for name in env.term_names}
        length = np.zeros(env.num_envs)
        for _ in range(self.eval_length):
            out = env.step(learner.act_deterministic(obs))
            total += np.where(alive, out.reward, 0.0)
            for name, value in out.terms.items():
                terms[name] += np.where(alive, value, 0.0)
            length += alive
            alive &= ~out.done
            obs = out.obs
            if not alive.any():
                break
        return EvalResult(
            reward_mean=float(total.mean()),
            reward_std=float(total.std()),
            reward_terms={k: float(v.mean()) for k, v in terms.items()},
            episode_length=float(length.mean()),
            wall_s=time.perf_counter() - start,
        )


def _name(reward_source: str | None) -> str:
    from tabrl.policies.store import RewardInfo

    return RewardInfo.from_source(reward_source).name


def _concat(parts: list[Rollout]) -> Rollout:
    if len(parts) == 1:
        return parts[0]
    fields = Rollout.__dataclass_fields__
    return Rollout(**{k: np.concatenate([getattr(p, k) for p in parts]) for k in fields})


class _Learner:
    """Brax's PPO networks, normaliser and loss, with optax Adam; jitted acting and learning."""

    def __init__(
        self,
        config: TrainConfig,
        obs_size: int,
        action_size: int,
        session: TrainingSession,
        mirror: MirrorMaps | None = None,
    ) -> None:
        import jax
        import jax.numpy as jnp
        import optax
        from brax.training.acme import running_statistics, specs
        from brax.training.agents.ppo import losses as ppo_losses
        from brax.training.agents.ppo import networks as ppo_networks

        from tabrl.training.networks import network_factory

        self.config = config
        normalize = running_statistics.normalize if config.normalize_observations else (lambda x, _p: x)
        net = network_factory(config)(obs_size, action_size, preprocess_observations_fn=normalize)
        key_policy, key_value = jax.random.split(jax.random.PRNGKey(config.seed))
        normalizer = running_statistics.init_state(specs.Array((obs_size,), jnp.dtype("float32")))
        policy, value = net.policy_network.init(key_policy), net.value_network.init(key_value)
        if session.restore_params is not None:
            restored = session.restore_params
            normalizer, policy = restored[0], restored[1]
            if session.restore_value and len(restored) > 2:
                value = restored[2]
        self.normalizer = normalizer
        self.network_params = ppo_losses.PPONetworkParams(policy=policy, value=value)
        chain = [optax.adam(config.learning_rate)]
        if config.max_grad_norm is not None:
            chain.insert(0, optax.clip_by_global_norm(config.max_grad_norm))
        self.optimizer = optax.chain(*chain)
        self.opt_state = self.optimizer.init(self.network_params)
        make_policy = ppo_networks.make_inference_fn(net)

        def act(normalizer: Any, policy: Any, obs: Any, key: Any) -> Any:
            key, sample = jax.random.split(key)
            action, extras = make_policy((normalizer, policy), deterministic=False)(obs, sample)
            return action, extras, key

        def act_det(normalizer: Any, policy: Any, obs: Any) -> Any:
            return make_policy((normalizer, policy), deterministic=True)(obs, jax.random.PRNGKey(0))[0]

        def mean_action(normalizer: Any, policy: Any, obs: Any) -> Any:
            # Brax's policy network outputs the tanh-normal's (loc, raw scale); tanh is odd, so
            # mirroring the pre-tanh mean mirrors the deterministic action.
            return net.policy_network.apply(normalizer, policy, obs)[..., :action_size]

        def loss_fn(params: Any, normalizer: Any, data: Any, key: Any) -> Any:
            loss, metrics = ppo_losses.compute_ppo_loss(
                params, normalizer, data, key, net, entropy_cost=config.entropy_cost,
                discounting=config.discounting, reward_scaling=config.reward_scaling,
                gae_lambda=config.gae_lambda, clipping_epsilon=config.clipping_epsilon,
                normalize_advantage=True,
            )  # fmt: skip
            if mirror is None:
                return loss, metrics
            obs = data.observation
            seen = mean_action(normalizer, params.policy, mirror.mirror_obs(obs))
            done = mirror.mirror_action(mean_action(normalizer, params.policy, obs))
            symmetry = jnp.mean(jnp.sum(jnp.square(seen - done), axis=-1))
            return loss + config.symmetry_cost * symmetry, {**metrics, "symmetry_loss": symmetry}

        grad_fn = jax.value_and_grad(loss_fn, has_aux=True)

        def minibatch(carry: Any, data: Any) -> Any:
            params, opt_state, normalizer, key = carry
            key, key_loss = jax.random.split(key)
            (loss, _metrics), grads = grad_fn(params, normalizer, data, key_loss)
            updates, opt_state = self.optimizer.update(grads, opt_state, params)
            return (optax.apply_updates(params, updates), opt_state, normalizer, key), loss

        def epoch(carry: Any, _: Any, data: Any) -> Any:
            params, opt_state, normalizer, key = carry
            key, key_perm = jax.random.split(key)
            shuffled = jax.tree.map(lambda x: jax.random.permutation(key_perm, x), data)
            batches = jax.tree.map(lambda x: x.reshape((config.num_minibatches, -1, *x.shape[1:])), shuffled)
            return jax.lax.scan(minibatch, (params, opt_state, normalizer, key), batches)

        def learn(params: Any, opt_state: Any, normalizer: Any, data: Any, key: Any) -> Any:
            # As Brax: the normaliser absorbs the batch before the epochs that use it.
            normalizer = running_statistics.update(normalizer, data.observation)
            carry, losses = jax.lax.scan(
                lambda c, u: epoch(c, u, data), (params, opt_state, normalizer, key), None,
                length=config.num_updates_per_batch,
            )  # fmt: skip
            params, opt_state, normalizer, _ = carry
            return params, opt_state, normalizer, losses.mean()

        self._act, self._act_det, self._learn = jax.jit(act), jax.jit(act_det), jax.jit(learn)
        self.value_apply = net.value_network.apply
        self.last_loss: float | None = None

    def act(self, obs: np.ndarray, key: Any) -> tuple[np.ndarray, dict[str, np.ndarray], Any]:
        """Sampled actions (in [-1, 1]); Brax's extras (pre-tanh actions, log-probabilities, the
        distribution's parameters); the next key."""
        action, extras, key = self._act(self.normalizer, self.network_params.policy, obs, key)
        return np.asarray(action), {k: np.asarray(v) for k, v in extras.items()}, key

    def act_deterministic(self, obs: np.ndarray) -> np.ndarray:
        """The deterministic (tanh-mean) actions: the policy that is exported and deployed."""
        return np.asarray(self._act_det(self.normalizer, self.network_params.policy, obs))

    def learn(self, rollout: Rollout, key: Any) -> None:
        """One PPO update on `rollout`."""
        params, opt_state, normalizer, loss = self._learn(
            self.network_params, self.opt_state, self.normalizer, rollout.transition(), key
        )
        self.network_params, self.opt_state, self.normalizer = params, opt_state, normalizer
        self.last_loss = float(loss)
        if not np.isfinite(self.last_loss):
            raise TabRLError(
                "training diverged: the PPO loss became NaN or infinite. The usual cause is a reward of "
                "huge magnitude (keep each term within about +-100 per step) or a learning rate too high "
                "for this scene; lower learning_rate or rescale the reward terms and train again"
            )

    def set_value(self, value: Any) -> None:
        """Replace the value function's parameters (its optimiser state starts again)."""
        self.network_params = self.network_params.replace(value=value)
        self.opt_state = self.optimizer.init(self.network_params)

    def params(self) -> tuple[Any, Any, Any]:
        """(normaliser, policy, value): Brax's parameter layout, as the policy store saves it."""
        return (self.normalizer, self.network_params.policy, self.network_params.value)


def policy_env(
    manifest: Any,
    *,
    num_envs: int = 1,
    seed: int = 0,
    for_video: bool = False,
    episode_length: int | None = None,
) -> Any:
    """The MuJoCo C environment a mujoco-backend policy was trained in (its scene, reward and
    conventions from the manifest), without domain randomisation, for videos, the live view and
    behaviour checks.

    `for_video`: no fall termination and no step limit, so a fall is seen rather than reset.
    `episode_length`: steps before an episode is cut (default: the config's evaluation length).
    """
    import dataclasses

    from tabrl.rewards.host_env import HostSceneEnv

    config = TrainConfig.from_dict(
        {k: v for k, v in manifest.config.items() if k in TrainConfig.__dataclass_fields__}
    )
    env_config = env_config_for(config, 10**9 if for_video else episode_length or config.eval_episode_length)
    env_config = dataclasses.replace(
        env_config, friction_range=None, mass_scale_range=None, push_velocity=0.0,
        terminate_on_fall=env_config.terminate_on_fall and not for_video,
    )  # fmt: skip
    env = HostSceneEnv(manifest.scene_id, manifest.reward.source, env_config, num_envs=num_envs, seed=seed)
    if env.observation_size != manifest.observation_size:
        # Floating-base robots observed their world orientation (a quaternion, 4 values) before they
        # observed gravity in the base frame (3): such a policy cannot run in today's env.
        raise TabRLError(
            f"policy {manifest.id} reads {manifest.observation_size} observation values but {manifest.scene_id} "
            f"now gives {env.observation_size} (it was trained by an older TabRL, whose observation differs); "
            "train it again"
        )
    if getattr(manifest, "commands", None) and env.conventions.commands:
        from tabrl.rewards.commands import compile_commands

        env.follow(compile_commands(manifest.commands, env_config.command_range))
    return env


@dataclass(frozen=True)
class RolloutStats:
    """What a policy's robot did over seeded rollouts (one row per rollout)."""

    #: Mean forward speed of the base along its starting heading (m/s).
    forward_speed: np.ndarray
    #: Whether the episode ended early (the env's termination: a fall, for floating-base robots).
    fell: np.ndarray
    seconds: float
    #: Mean sideways speed along the starting heading's left (m/s).
    lateral_speed: np.ndarray | None = None
    #: Mean yaw rate (rad/s, counter-clockwise positive), from the unwrapped heading.
    yaw_rate: np.ndarray | None = None


def rollout_stats(
    policy_dir: Any, *, num_envs: int = 32, seconds: float = 10.0, seed: int = 0
) -> RolloutStats:
    """Roll a mujoco-backend policy out deterministically in `num_envs` seeded simulations and measure
    the base's forward speed (x displacement in the start frame / time) and falls."""
    from tabrl.policies import load_policy, read_manifest

    manifest = read_manifest(policy_dir)
    policy = load_policy(policy_dir)
    env = policy_env(manifest, num_envs=num_envs, seed=seed, episode_length=10**9)
    steps = max(1, round(seconds / env.dt))
    obs = env.reset()
    start = env.qpos()[:, :2].copy()
    heading = _yaw(env.qpos())
    turned = np.zeros(num_envs)
    fell = np.zeros(num_envs, bool)
    last = start.copy()
    for _ in range(steps):
        before = env.qpos()
        out = env.step(policy.numpy(obs))
        newly = out.done & ~out.truncation & ~fell
        last[newly] = before[newly, :2]  # position when it fell (the env has reset it since)
        fell |= out.done & ~out.truncation
        now = _yaw(env.qpos())
        turned += np.where(fell, 0.0, np.angle(np.exp(1j * (now - _yaw(before)))))
        obs = out.obs
    end = np.where(fell[:, None], last, env.qpos()[:, :2])
    # Displacement in the frame of each robot's starting heading: x forward, y to its left.
    dx, dy = (end - start).T
    cos, sin = np.cos(heading), np.sin(heading)
    duration = steps * env.dt
    return RolloutStats(
        forward_speed=(cos * dx + sin * dy) / duration, fell=fell, seconds=duration,
        lateral_speed=(-sin * dx + cos * dy) / duration, yaw_rate=turned / duration,
    )  # fmt: skip


def _yaw(qpos: np.ndarray) -> np.ndarray:
    """Heading of a floating base (qpos[:, 3:7], w-x-y-z) around world z."""
    w, x, y, z = qpos[:, 3], qpos[:, 4], qpos[:, 5], qpos[:, 6]
    return np.arctan2(2 * (w * z + x * y), 1 - 2 * (y * y + z * z))


__all__ = ["MujocoBackend", "Rollout", "RolloutStats", "env_config_for", "policy_env", "rollout_stats"]
