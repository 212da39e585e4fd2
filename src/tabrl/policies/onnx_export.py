"""ONNX export of a policy: observation normaliser + MLP + deterministic tanh-mean action.

The graph is built with `onnx.helper` from the stored parameters (no tracing, no extra
dependency): input `observation` float32 [batch, obs], output `action` float32 [batch, act] in
[-1, 1] -- what onnxruntime-web in a browser or a robot's controller runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from tabrl.errors import TabRLError
from tabrl.policies.store import PolicyManifest, load_params

#: Opset understood by onnxruntime 1.16+ and onnxruntime-web.
OPSET = 17
INPUT = "observation"
OUTPUT = "action"


def _layers(policy_params: Any) -> list[tuple[np.ndarray, np.ndarray]]:
    """(kernel, bias) of each Dense layer of Brax's MLP, in order."""
    params = policy_params.get("params", policy_params)
    names = sorted((k for k in params if k.startswith("hidden_")), key=lambda k: int(k.split("_")[1]))
    if not names:
        raise TabRLError("policy parameters have no hidden_<i> layers; is this a Brax PPO MLP policy?")
    return [
        (np.asarray(params[n]["kernel"], np.float32), np.asarray(params[n]["bias"], np.float32))
        for n in names
    ]


def _activation_nodes(name: str, x: str, out: str, idx: int) -> list[Any]:
    from onnx import helper

    if name == "swish":  # x * sigmoid(x), flax's swish / silu
        sig = f"sigmoid_{idx}"
        return [helper.make_node("Sigmoid", [x], [sig]), helper.make_node("Mul", [x, sig], [out])]
    op = {"relu": "Relu", "tanh": "Tanh", "elu": "Elu"}.get(name)
    if op is None:
        raise TabRLError(f"activation {name!r} cannot be exported to ONNX (swish, relu, tanh, elu can)")
    return [helper.make_node(op, [x], [out])]


def build_model(manifest: PolicyManifest, params: tuple[Any, Any, Any]) -> Any:
    """The ONNX ModelProto of a policy."""
    from onnx import TensorProto, checker, helper, numpy_helper

    normalizer, policy, _ = params
    obs, act = manifest.observation_size, manifest.action_size
    nodes: list[Any] = []
    inits: list[Any] = []
    x = INPUT
    if manifest.network.normalize_observations:
        mean, std = normalizer.mean, normalizer.std
        if manifest.observation_is_dict:
            mean, std = mean[manifest.network.policy_obs_key], std[manifest.network.policy_obs_key]
        inits += [
            numpy_helper.from_array(np.asarray(mean, np.float32).reshape(obs), "obs_mean"),
            numpy_helper.from_array(np.asarray(std, np.float32).reshape(obs), "obs_std"),
        ]
        nodes += [
            helper.make_node("Sub", [x, "obs_mean"], ["obs_centered"]),
            helper.make_node("Div", ["obs_centered", "obs_std"], ["obs_normalized"]),
        ]
        x = "obs_normalized"
    layers = _layers(policy)
    for i, (kernel, bias) in enumerate(layers):
        last = i == len(layers) - 1
        if last:
            # Brax's tanh-normal head outputs (loc, scale); the deterministic action is tanh(loc).
            kernel, bias = kernel[:, :act], bias[:act]
        inits += [numpy_helper.from_array(kernel, f"w{i}"), numpy_helper.from_array(bias, f"b{i}")]
        nodes += [
            helper.make_node("MatMul", [x, f"w{i}"], [f"mm{i}"]),
            helper.make_node("Add", [f"mm{i}", f"b{i}"], [f"z{i}"]),
        ]
        if last:
            nodes.append(helper.make_node("Tanh", [f"z{i}"], [OUTPUT]))
        else:
            nodes += _activation_nodes(manifest.network.activation, f"z{i}", f"h{i}", i)
            x = f"h{i}"
    graph = helper.make_graph(
        nodes,
        f"tabrl_policy_{manifest.scene_id}",
        [helper.make_tensor_value_info(INPUT, TensorProto.FLOAT, ["batch", obs])],
        [helper.make_tensor_value_info(OUTPUT, TensorProto.FLOAT, ["batch", act])],
        initializer=inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="tabrl")
    model.ir_version = 8  # readable by older onnxruntime(-web) builds too
    for key, value in {
        "policy_id": manifest.id,
        "scene_id": manifest.scene_id,
        "observation_size": str(obs),
        "action_size": str(act),
        "reward_sha256": manifest.reward.sha256,
        "tabrl_version": manifest.tabrl_version,
    }.items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    checker.check_model(model)
    return model


def export_onnx(policy_dir: Path | str, out: Path | str) -> Path:
    """Write the policy in `policy_dir` as an ONNX file at `out`; returns the path."""
    import onnx

    manifest, params = load_params(Path(policy_dir))
    if manifest.network.distribution != "tanh_normal":
        raise TabRLError(
            f"only tanh-normal policies can be exported, this one is {manifest.network.distribution}"
        )
    model = build_model(manifest, params)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(out))
    return out


__all__ = ["INPUT", "OPSET", "OUTPUT", "build_model", "export_onnx"]
