"""TrainConfig: presets, YAML, `key=value` overrides with type checking, and helpful errors."""

from __future__ import annotations

import dataclasses
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


def test_classic_swing_ups_on_a_cpu_hold_each_action_twice() -> None:
    for scene in ("PendulumSwingup", "CartpoleSwingup", "AcrobotSwingup"):
        cfg = preset_for(scene, "cpu")
        assert cfg.action_repeat == 2 and cfg.discounting == 0.99, scene
    assert preset_for("CartpoleBalance", "cpu").action_repeat == 1
    assert preset_for("CartpoleSwingup", "cpu", "mujoco").action_repeat == 1  # C steps one action per step
    assert preset_for("CheetahRun", "cpu").action_repeat == 1


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
        # The field, its whole allowed range and the value, whichever bound failed.
        ("discounting=0", "discounting must be in (0, 1], got '0'"),
        ("gae_lambda=-0.1", "gae_lambda must be in [0, 1], got '-0.1'"),
        ("num_envs=0", "num_envs must be >= 1, got '0'"),
        ("learning_rate=0", "learning_rate must be > 0, got '0'"),
        ("symmetry_cost=101", "symmetry_cost must be in [0, 100], got '101'"),
        ("eval_episode_length=0", "eval_episode_length must be >= 1 or none, got '0'"),
        (
            "policy_hidden_layer_sizes=64,0",
            "policy_hidden_layer_sizes must be a list of values >= 1, got '64,0'",
        ),
        ("max_grad_norm=abc", "max_grad_norm must be a number or none, got 'abc'"),
        ("friction_range=1.2,0.5", "friction_range must be two numbers lo,hi"),
        ("command_range=1,1", "command_range must be three limits in [0, 10]"),
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
    # Every way of making one is validated: the constructor and dataclasses.replace too.
    with pytest.raises(ConfigError, match="num_envs must be >= 1"):
        TrainConfig(num_envs=0)
    with pytest.raises(ConfigError, match=r"unknown training setting 'num_env'\. Did you mean: num_envs"):
        dataclasses.replace(cfg, num_env=8)


def test_values_of_every_source_go_through_the_model() -> None:
    """The quirks of the hand-written coercion this replaced, and which way each went."""
    # Kept: exponents and underscores in counts, `none` for optional fields, lists as comma-separated text.
    cfg = TrainConfig.from_dict(
        {"num_timesteps": "1e6", "num_envs": "1_024", "batch_size": 1024.0, "max_grad_norm": "null"}
    )
    assert (cfg.num_timesteps, cfg.num_envs, cfg.batch_size, cfg.max_grad_norm) == (
        1_000_000,
        1024,
        1024,
        None,
    )
    assert TrainConfig.from_dict({"command_range": "[1.0, 0.5, 1]"}).command_range == (1.0, 0.5, 1.0)
    # Kept: true/false is not a number, and a number is not text.
    with pytest.raises(ConfigError, match="num_envs must be an integer, got True"):
        TrainConfig.from_dict({"num_envs": True})
    with pytest.raises(ConfigError, match="learning_rate must be a number, got False"):
        TrainConfig.from_dict({"learning_rate": False})
    with pytest.raises(ConfigError, match="policy_obs_key must be text, got 5"):
        TrainConfig.from_dict({"policy_obs_key": 5})
    # The model won: NaN and infinities are refused (NaN used to pass every range check).
    for text in ("learning_rate=nan", "stop_at_reward=inf", "clipping_epsilon=-inf"):
        with pytest.raises(ConfigError, match="must be a finite number"):
            apply_overrides(TrainConfig(), [text])
    # The model won: 1 / 0 (and t / f, y / n) are booleans, as pydantic reads them.
    assert TrainConfig.from_dict({"normalize_observations": 0}).normalize_observations is False
    assert apply_overrides(TrainConfig(), ["keep_best=n"]).keep_best is False
    # The model won: the constructor parses text as well (it used to store it unchecked, then fail).
    assert TrainConfig(num_envs="512", batch_size=512).num_envs == 512  # type: ignore[arg-type]


def test_a_mapping_of_overrides_is_validated_like_text() -> None:
    """API requests and job requests give typed values (no `key=value` round trip)."""
    text = apply_overrides(TrainConfig(), ["policy_hidden_layer_sizes=16,16", "max_grad_norm=1"])
    typed = apply_overrides(TrainConfig(), {"policy_hidden_layer_sizes": [16, 16], "max_grad_norm": 1.0})
    assert text == typed
    with pytest.raises(ConfigError, match="discounting must be in"):
        apply_overrides(TrainConfig(), {"discounting": 2})


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
