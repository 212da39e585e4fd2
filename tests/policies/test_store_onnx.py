"""Policy store round trip, jitted inference, and ONNX parity with JAX (no training needed).

Parameters come from Brax's own PPO network initialiser with a non-trivial observation
normaliser, so the exported graph has to reproduce normalisation, every layer and the
deterministic tanh-mean head exactly as Brax computes them.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tabrl.errors import NotFoundError
from tabrl.policies import (
    NetworkSpec,
    PolicyManifest,
    RewardInfo,
    export_onnx,
    load_policy,
    read_manifest,
    save_policy,
)
from tabrl.policies.store import read_params


def _make_params(
    obs_sizes: dict[str, int], action_size: int, hidden: tuple[int, ...], activation: str, seed: int
):
    import jax
    import jax.numpy as jnp
    from brax.training.acme import running_statistics, specs
    from brax.training.agents.ppo import networks as ppo_networks

    from tabrl.policies.inference import activation as _activation

    as_dict = list(obs_sizes) != ["state"]
    sizes = {k: (v,) for k, v in obs_sizes.items()} if as_dict else obs_sizes["state"]
    net = ppo_networks.make_ppo_networks(
        sizes,
        action_size,
        preprocess_observations_fn=running_statistics.normalize,
        policy_hidden_layer_sizes=hidden,
        value_hidden_layer_sizes=(8,),
        activation=_activation(activation),
        value_obs_key="privileged_state" if as_dict else "state",
    )
    k1, k2, k3 = jax.random.split(jax.random.PRNGKey(seed), 3)
    spec = (
        {k: specs.Array((v,), jnp.float32) for k, v in obs_sizes.items()}
        if as_dict
        else specs.Array((obs_sizes["state"],), jnp.float32)
    )
    normalizer = running_statistics.init_state(spec)
    # A normaliser that has seen data: mean and std far from 0 and 1.
    batch = jax.tree.map(
        lambda s: 3.0 + 2.0 * jax.random.normal(k3, (512, *s.shape)),
        spec,
        is_leaf=lambda x: isinstance(x, specs.Array),
    )
    normalizer = running_statistics.update(normalizer, batch)
    policy = net.policy_network.init(k1)
    # Larger weights than the initialiser's so tanh is not just linear around 0.
    policy = jax.tree.map(lambda w: 2.0 * w, policy)
    return (normalizer, policy, net.value_network.init(k2)), as_dict


def _save(
    tmp_path: Path, obs_sizes: dict[str, int], action_size: int, hidden=(32, 16), activation="swish", seed=0
):
    params, as_dict = _make_params(obs_sizes, action_size, hidden, activation, seed)
    manifest = PolicyManifest(
        id="test-policy",
        scene_id="TestScene",
        observation_size=obs_sizes["state"],
        observation_sizes=obs_sizes,
        action_size=action_size,
        network=NetworkSpec(
            policy_hidden_layer_sizes=hidden,
            value_hidden_layer_sizes=(8,),
            activation=activation,
            value_obs_key="privileged_state" if as_dict else "state",
        ),
        reward=RewardInfo.from_source(
            "def compute_reward(s, action):\n    return {'x': 0.0}\n", "custom", ("x",)
        ),
        config={"seed": seed},
        observation_is_dict=as_dict,
    )
    return save_policy(tmp_path / "policy", manifest, params), params


def _onnx_run(path: Path, obs: np.ndarray) -> np.ndarray:
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(["action"], {"observation": obs})[0]


@pytest.mark.parametrize(
    ("obs_sizes", "action_size", "activation"),
    [
        ({"state": 5}, 1, "swish"),
        ({"state": 48, "privileged_state": 123}, 12, "swish"),
        ({"state": 7}, 3, "elu"),
    ],
)
def test_onnx_matches_jax_on_1000_observations(tmp_path: Path, obs_sizes, action_size, activation) -> None:
    policy_dir, _ = _save(tmp_path, obs_sizes, action_size, activation=activation)
    policy = load_policy(policy_dir)
    onnx_path = export_onnx(policy_dir, tmp_path / "policy.onnx")

    rng = np.random.default_rng(0)
    obs = (3.0 + 4.0 * rng.standard_normal((1000, obs_sizes["state"]))).astype(np.float32)
    jax_actions = policy.numpy(obs)
    onnx_actions = _onnx_run(onnx_path, obs)
    assert onnx_actions.shape == (1000, action_size)
    assert np.abs(jax_actions).max() > 0.3, "actions too close to 0 for a meaningful comparison"
    np.testing.assert_allclose(onnx_actions, jax_actions, atol=1e-5, rtol=0)


def test_store_roundtrip_and_single_observation(tmp_path: Path) -> None:
    policy_dir, params = _save(tmp_path, {"state": 5}, 2)
    manifest = json.loads((policy_dir / "manifest.json").read_text())
    assert manifest["reward"]["sha256"] and manifest["observation_size"] == 5
    assert (policy_dir / "reward.py").read_text().startswith("def compute_reward")
    assert not list(policy_dir.glob("*.pkl")) and not list(policy_dir.glob("*.pickle"))

    normalizer, _policy_params, _ = read_params(policy_dir / "params.msgpack")
    np.testing.assert_allclose(np.asarray(normalizer.mean), np.asarray(params[0].mean), rtol=1e-6)
    assert int(normalizer.count.to_numpy()) == int(params[0].count.to_numpy())

    policy = load_policy(policy_dir)
    one = np.linspace(-1, 1, 5, dtype=np.float32)
    single = policy.numpy(one)
    batch = policy.numpy(np.stack([one, one]))
    assert single.shape == (2,) and batch.shape == (2, 2)
    np.testing.assert_allclose(batch[0], single, atol=1e-6)
    assert np.all(np.abs(batch) <= 1.0)
    with pytest.raises(Exception, match="expects observations of shape"):
        policy(np.zeros(4))


def test_missing_policy_folder_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(NotFoundError, match="not a TabRL policy folder"):
        read_manifest(tmp_path)
