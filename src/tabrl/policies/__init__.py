"""Policy store, inference and ONNX export.

>>> from tabrl.policies import load_policy, export_onnx, read_manifest
>>> policy = load_policy("runs/cp/policy")             # doctest: +SKIP
>>> action = policy(observation)                       # doctest: +SKIP
>>> export_onnx("runs/cp/policy", "cp.onnx")           # doctest: +SKIP
"""

from tabrl.policies.inference import Policy, load_policy
from tabrl.policies.onnx_export import export_onnx
from tabrl.policies.store import (
    NetworkSpec,
    PolicyManifest,
    RewardInfo,
    load_params,
    new_policy_id,
    read_manifest,
    save_policy,
)

__all__ = [
    "NetworkSpec",
    "Policy",
    "PolicyManifest",
    "RewardInfo",
    "export_onnx",
    "load_params",
    "load_policy",
    "new_policy_id",
    "read_manifest",
    "save_policy",
]
