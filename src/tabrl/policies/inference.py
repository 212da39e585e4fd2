"""Load a stored policy and run it: deterministic actions for one observation or a batch.

>>> policy = load_policy("runs/cp/policy")                      # doctest: +SKIP
>>> policy(obs).shape, policy(batch_of_obs).shape                # doctest: +SKIP
((1,), (256, 1))
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from tabrl.errors import TabRLError
from tabrl.policies.store import PolicyManifest, load_params


@dataclass
class Policy:
    """A loaded policy: `policy(obs)` -> deterministic action(s) in [-1, 1].

    `obs` is the vector the policy reads (for dict observations, the `policy_obs_key` entry),
    shape (observation_size,) or (batch, observation_size).
    """

    manifest: PolicyManifest
    params: tuple[Any, Any, Any]
    directory: Path
    _batched: Any

    @property
    def observation_size(self) -> int:
        """Length of one observation vector."""
        return self.manifest.observation_size

    @property
    def action_size(self) -> int:
        """Length of one action vector."""
        return self.manifest.action_size

    def __call__(self, obs: Any) -> Any:
        import jax.numpy as jnp

        x = jnp.asarray(obs, dtype=jnp.float32)
        if x.shape[-1:] != (self.observation_size,) or x.ndim not in (1, 2):
            raise TabRLError(
                f"policy {self.manifest.id} expects observations of shape ({self.observation_size},) or "
                f"(batch, {self.observation_size}), got {tuple(x.shape)}"
            )
        if x.ndim == 1:
            return self._batched(self.params, x[None])[0]
        return self._batched(self.params, x)

    def numpy(self, obs: Any) -> np.ndarray:
        """Same as calling, as a NumPy array."""
        return np.asarray(self(obs))


def activation(name: str) -> Any:
    """The activation function called `name` in a manifest or config ("swish", "relu", "tanh", "elu")."""
    import jax
    from flax import linen

    return {"swish": linen.swish, "relu": linen.relu, "tanh": linen.tanh, "elu": jax.nn.elu}[name]


def build_apply(manifest: PolicyManifest) -> Any:
    """Jitted `(params, obs_batch) -> actions`: Brax's own network and deterministic (tanh-mean) action."""
    import jax
    from brax.training.acme import running_statistics
    from brax.training.agents.ppo import networks as ppo_networks

    net = manifest.network
    sizes: Any = (
        {k: (v,) for k, v in manifest.observation_sizes.items()}
        if manifest.observation_is_dict
        else manifest.observation_size
    )
    ppo_network = ppo_networks.make_ppo_networks(
        sizes,
        manifest.action_size,
        preprocess_observations_fn=running_statistics.normalize if net.normalize_observations else _identity,
        policy_hidden_layer_sizes=net.policy_hidden_layer_sizes,
        value_hidden_layer_sizes=net.value_hidden_layer_sizes,
        activation=activation(net.activation),
        policy_obs_key=net.policy_obs_key,
        value_obs_key=net.value_obs_key,
    )
    make_policy = ppo_networks.make_inference_fn(ppo_network)
    key = net.policy_obs_key

    def apply(params: Any, obs: Any) -> Any:
        if manifest.observation_is_dict:
            # Only the policy's own entry is read; the others are never looked at.
            obs = {key: obs}
        action, _ = make_policy(params, deterministic=True)(obs, jax.random.PRNGKey(0))
        return action

    return jax.jit(apply)


def _identity(x: Any, _params: Any) -> Any:
    return x


def load_policy(directory: Path | str) -> Policy:
    """Load a policy folder (final policy or checkpoint) into a jitted inference function."""
    from tabrl.runtime import configure_jax

    configure_jax()
    directory = Path(directory)
    manifest, params = load_params(directory)
    if manifest.observation_is_dict:
        normalizer = params[0]
        key = manifest.network.policy_obs_key
        # Keep only the policy's entry of the normaliser so a batch of that entry alone is valid input.
        params = (
            normalizer.replace(
                mean={key: normalizer.mean[key]},
                std={key: normalizer.std[key]},
                summed_variance={key: normalizer.summed_variance[key]},
            ),
            params[1],
            params[2],
        )
    return Policy(manifest=manifest, params=params, directory=directory, _batched=build_apply(manifest))


__all__ = ["Policy", "build_apply", "load_policy"]
