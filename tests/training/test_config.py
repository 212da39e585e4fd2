"""TrainConfig: presets, YAML, `key=value` overrides with type checking, and helpful errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from tabrl.training.config import (
    FINE_TUNE_SETTINGS,
    ConfigError,
    TrainConfig,
    apply_overrides,
    load_yaml,
    preset_for,
    resolve_config,
    save_yaml,
    steps_for,
)


def test_cartpole_cpu_preset_is_valid_and_small() -> None:
    cfg = preset_for("CartpoleBalance", "cpu")
    assert cfg.num_envs <= 256
    assert max(cfg.policy_hidden_layer_sizes) <= 64
    assert (cfg.batch_size * cfg.num_minibatches) % cfg.num_envs == 0


def test_gpu_preset_follows_playground_published_settings() -> None:
    from mujoco_playground.config import locomotion_params

    rl = locomotion_params.brax_ppo_config("Go1JoystickFlatTerrain")
    cfg = preset_for("Go1JoystickFlatTerrain", "gpu")
    assert cfg.num_envs == rl.num_envs
    assert cfg.num_timesteps == rl.num_timesteps
    assert cfg.policy_hidden_layer_sizes == tuple(rl.network_factory.policy_hidden_layer_sizes)
    assert cfg.value_obs_key == "privileged_state"
    # The CPU preset of the same task is shrunk, not the GPU one.
    assert preset_for("Go1JoystickFlatTerrain", "cpu").num_envs < cfg.num_envs


def test_overrides_are_parsed_by_field_type() -> None:
    cfg = apply_overrides(
        TrainConfig(),
        [
            "learning_rate=3e-4",
            "num_timesteps=2e6",
            "num_envs=1_024",
            "batch_size=1024",
            "normalize_observations=false",
            "policy_hidden_layer_sizes=64,64,32",
            "max_grad_norm=none",
            "stop_at_reward=900",
            "activation=tanh",
        ],
    )
    assert cfg.learning_rate == pytest.approx(3e-4)
    assert cfg.num_timesteps == 2_000_000 and isinstance(cfg.num_timesteps, int)
    assert cfg.num_envs == 1024
    assert cfg.normalize_observations is False
    assert cfg.policy_hidden_layer_sizes == (64, 64, 32)
    assert cfg.max_grad_norm is None
    assert cfg.stop_at_reward == 900.0
    assert cfg.activation == "tanh"


@pytest.mark.parametrize(
    ("override", "fragment"),
    [
        ("learnin_rate=1e-3", "Did you mean: learning_rate"),
        ("num_envs=many", "num_envs must be an integer"),
        ("num_envs=2.5", "num_envs must be an integer"),
        ("normalize_observations=maybe", "true or false"),
        ("activation=sigmoid", "'swish'"),
        ("learning_rate", "key=value"),
        ("discounting=1.5", "discounting must be in (0, 1]"),
        ("batch_size=100", "multiple of num_envs"),
        ("policy_hidden_layer_sizes=64,x", "comma-separated integers"),
    ],
)
def test_bad_overrides_say_what_to_do(override: str, fragment: str) -> None:
    with pytest.raises(ConfigError) as info:
        apply_overrides(TrainConfig(), [override])
    assert fragment in str(info.value)


def test_yaml_roundtrip_and_errors(tmp_path: Path) -> None:
    cfg = TrainConfig(learning_rate=5e-4, policy_hidden_layer_sizes=(16, 16), seed=3)
    path = tmp_path / "c.yaml"
    save_yaml(cfg, path)
    assert load_yaml(path, TrainConfig()) == cfg

    bad = tmp_path / "bad.yaml"
    bad.write_text("num_envs: [1, 2]\n")
    with pytest.raises(ConfigError, match=r"bad\.yaml: num_envs must be an integer"):
        load_yaml(bad, TrainConfig())
    bad.write_text("- just\n- a list\n")
    with pytest.raises(ConfigError, match="mapping"):
        load_yaml(bad, TrainConfig())
    with pytest.raises(ConfigError, match="does not exist"):
        load_yaml(tmp_path / "missing.yaml", TrainConfig())


def test_resolution_order_preset_yaml_overrides_steps(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("learning_rate: 0.002\nseed: 5\nnum_timesteps: 123456\n")
    cfg = resolve_config("CartpoleBalance", yaml_path=path, overrides=["seed=7"], steps="quick", device="cpu")
    assert cfg.learning_rate == pytest.approx(0.002)  # YAML over preset
    assert cfg.seed == 7  # override over YAML
    assert cfg.num_timesteps == steps_for("CartpoleBalance", "quick", "cpu")  # steps last
    assert cfg.num_envs == preset_for("CartpoleBalance", "cpu").num_envs  # untouched preset value


def test_steps_presets_grow_and_reject_unknown() -> None:
    quick, standard, quality = (
        steps_for("Go1JoystickFlatTerrain", p, "cpu") for p in ("quick", "standard", "quality")
    )
    assert quick < standard < quality
    with pytest.raises(ConfigError, match="quick, standard, quality"):
        steps_for("CartpoleBalance", "fast", "cpu")


def test_frozen_and_replace_is_type_checked() -> None:
    cfg = TrainConfig()
    with pytest.raises(AttributeError):
        cfg.seed = 1  # type: ignore[misc]
    assert cfg.replace(seed="4").seed == 4
    with pytest.raises(ConfigError):
        cfg.replace(num_envs=0)


def test_fine_tuning_starts_from_fine_tuning_settings_that_yaml_and_overrides_still_change(
    tmp_path: Path,
) -> None:
    scratch = resolve_config("CartpoleBalance", device="cpu")
    tuned = resolve_config("CartpoleBalance", device="cpu", fine_tune=True)
    assert tuned.learning_rate == pytest.approx(FINE_TUNE_SETTINGS["learning_rate"])
    assert tuned.learning_rate < scratch.learning_rate
    assert tuned.entropy_cost == pytest.approx(FINE_TUNE_SETTINGS["entropy_cost"])
    assert tuned.replace(learning_rate=scratch.learning_rate, entropy_cost=scratch.entropy_cost) == scratch
    path = tmp_path / "c.yaml"
    path.write_text("entropy_cost: 0.02\n")
    mine = resolve_config(
        "CartpoleBalance", device="cpu", fine_tune=True, yaml_path=path, overrides=["learning_rate=5e-4"]
    )
    assert (mine.learning_rate, mine.entropy_cost) == (pytest.approx(5e-4), pytest.approx(0.02))


def test_the_shipped_preset_files_equal_the_presets() -> None:
    """configs/*.yaml are generated (`tabrl presets --out configs`); an edited preset must regenerate them."""
    from tabrl.training.config import PRESET_FILES, load_yaml, preset_yaml

    root = Path(__file__).resolve().parents[2] / "configs"
    assert sorted(p.name for p in root.glob("*.yaml")) == sorted(PRESET_FILES)
    for name, (scene, device, physics) in PRESET_FILES.items():
        text = (root / name).read_text(encoding="utf-8")
        assert text == preset_yaml(scene, device, physics), f"{name}: run `tabrl presets --out configs`"
        assert load_yaml(root / name, TrainConfig()) == preset_for(scene, device, physics)
