"""Value warm-up pieces: returns cut at episode ends, the usable prefix, and the fit itself."""

from __future__ import annotations

import numpy as np
import pytest

from tabrl.training.value_warmup import discounted_returns, fit, usable_steps


def test_discounted_returns_stop_at_each_episode_end() -> None:
    import jax.numpy as jnp

    rewards = jnp.asarray([[1.0, 1.0], [1.0, 1.0], [1.0, 1.0]])
    dones = jnp.asarray([[0.0, 1.0], [0.0, 0.0], [0.0, 0.0]])  # env 1's episode ends after step 0
    out = np.asarray(discounted_returns(rewards, dones, 0.5))
    np.testing.assert_allclose(out[:, 0], [1.75, 1.5, 1.0])
    np.testing.assert_allclose(out[:, 1], [1.0, 1.5, 1.0])


def test_usable_steps_leave_out_returns_the_episode_end_cuts() -> None:
    # gamma 0.99: rewards 299 steps ahead weigh < 5 %, so of 500 steps the first 201 are kept.
    assert usable_steps(500, 0.99) == 500 - 299
    assert usable_steps(100, 0.99) == 25 and usable_steps(500, 1.0) == 250


def test_fit_brings_a_value_network_to_its_targets() -> None:
    import jax
    import jax.numpy as jnp
    from brax.training.agents.ppo import networks as ppo_networks

    net = ppo_networks.make_ppo_networks(3, 1, value_hidden_layer_sizes=(16, 16))
    params = net.value_network.init(jax.random.PRNGKey(0))
    obs = jax.random.normal(jax.random.PRNGKey(1), (2048, 3))
    targets = 10.0 * obs[:, 0] - 5.0 * obs[:, 1] + 20.0  # a scale like scaled returns
    fitted, before, after = fit(
        lambda _n, p, o: net.value_network.apply(None, p, o), None, params, obs, targets,
        updates=400, learning_rate=1e-2, batch_size=256, key=jax.random.PRNGKey(2),
    )  # fmt: skip
    assert before > 100 and after < 0.05 * before, (before, after)
    pred = net.value_network.apply(None, fitted, jnp.asarray([[0.0, 0.0, 0.0]]))
    assert float(pred[0]) == pytest.approx(20.0, abs=2.0)
