"""Brax's PPO networks with a config's sizes: the one policy format every backend trains and loads."""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from typing import Any

from tabrl.policies.inference import activation
from tabrl.training.config import TrainConfig


def network_factory(config: TrainConfig) -> Callable[..., Any]:
    """Brax's `make_ppo_networks` with the config's sizes and activation, initialised under `jit`.

    Brax initialises the networks eagerly: every layer's ops compile one by one (~2 s of tiny
    XLA compiles on CPU, on every run: they are too small for the persistent cache). One jitted
    init per network gives the same parameters for a fraction of that.
    """
    from brax.training.agents.ppo import networks as ppo_networks

    make = functools.partial(
        ppo_networks.make_ppo_networks,
        policy_hidden_layer_sizes=tuple(config.policy_hidden_layer_sizes),
        value_hidden_layer_sizes=tuple(config.value_hidden_layer_sizes),
        activation=activation(config.activation),
        policy_obs_key=config.policy_obs_key,
        value_obs_key=config.value_obs_key,
    )

    @functools.wraps(make)
    def factory(*args: Any, **kwargs: Any) -> Any:
        import jax

        nets = make(*args, **kwargs)
        return nets.replace(
            policy_network=dataclasses.replace(nets.policy_network, init=jax.jit(nets.policy_network.init)),
            value_network=dataclasses.replace(nets.value_network, init=jax.jit(nets.value_network.init)),
        )

    return factory


__all__ = ["network_factory"]
