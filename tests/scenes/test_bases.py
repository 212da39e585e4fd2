"""Base policies on this machine: shipped in the package, installed under TABRL_HOME."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tabrl.errors import NotFoundError
from tabrl.scenes import bases, has_base_policy
from tabrl.scenes.bases import BasePolicy, get_base, list_bases, scene_base, user_dir


@pytest.fixture
def dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A fresh TABRL_HOME and a stand-in for the package's shipped folder."""
    home, shipped = tmp_path / "home", tmp_path / "shipped"
    shipped.mkdir()
    monkeypatch.setenv("TABRL_HOME", str(home))
    monkeypatch.setattr(bases, "shipped_dir", lambda: shipped)
    bases._shipped.cache_clear()
    yield shipped, home / "base_policies"
    bases._shipped.cache_clear()


def test_lists_shipped_and_installed(dirs, base_writer) -> None:
    shipped, installed = dirs
    base_writer(shipped, "go1-joystick")
    base_writer(installed, "cartpole-task", scene_id="CartpoleBalance", kind="task", command_range=None)
    assert user_dir() == installed
    found = {b.id: b for b in list_bases()}
    assert set(found) == {"go1-joystick", "cartpole-task"}
    go1, cart = found["go1-joystick"], found["cartpole-task"]
    assert (go1.source, cart.source) == ("shipped", "installed")
    assert go1.dir == shipped / "go1-joystick" and cart.dir == installed / "cartpole-task"
    assert go1.joystick and go1.kind == "joystick" and go1.command_range == (1.0, 0.5, 1.0)
    assert not cart.joystick and cart.command_range is None
    assert go1.scene_id == "Go1JoystickFlatTerrain" and go1.reproduce == "tabrl base train go1-joystick"
    assert go1.backend == "mujoco" and go1.steps == 1000
    # Filtered by scene.
    assert [b.id for b in list_bases("CartpoleBalance")] == ["cartpole-task"]
    assert list_bases("CheetahRun") == []
    d = go1.to_dict()
    assert json.loads(json.dumps(d)) == d and d["command_range"] == [1.0, 0.5, 1.0] and d["dir"]


def test_installed_replaces_shipped_of_the_same_id(dirs, base_writer) -> None:
    shipped, installed = dirs
    base_writer(shipped, "go1-joystick", title="Shipped one")
    assert get_base("go1-joystick").source == "shipped"
    base_writer(installed, "go1-joystick", title="Retrained one", command_range=(2.0, 1.0, 2.0))
    base = get_base("go1-joystick")
    assert base.source == "installed" and base.title == "Retrained one"
    assert base.dir == installed / "go1-joystick" and base.command_range == (2.0, 1.0, 2.0)
    assert [b.id for b in list_bases()] == ["go1-joystick"]


def test_id_comes_from_the_manifest_not_the_folder(dirs, base_writer) -> None:
    shipped, _ = dirs
    folder = base_writer(shipped, "go1-joystick")
    folder.rename(shipped / "some-folder")
    assert get_base("go1-joystick").dir == shipped / "some-folder"


def test_folders_that_are_not_base_policies_are_ignored(dirs, base_writer) -> None:
    shipped, installed = dirs
    base_writer(shipped, "good-one")
    # No parameters.
    (base_writer(shipped, "no-params") / "params.msgpack").unlink()
    # A plain policy folder (no base entry).
    plain = base_writer(shipped, "plain")
    data = json.loads((plain / "manifest.json").read_text())
    del data["base"]
    (plain / "manifest.json").write_text(json.dumps(data))
    # Broken JSON.
    (base_writer(installed, "broken") / "manifest.json").write_text("{not json")
    # A hidden folder (a training run in progress writes there).
    base_writer(shipped, ".hidden-run")
    # A stray file.
    (shipped / "README").write_text("hello")
    assert [b.id for b in list_bases()] == ["good-one"]


def test_unknown_id_is_not_found_and_lists_what_exists(dirs, base_writer) -> None:
    shipped, installed = dirs
    base_writer(shipped, "go1-joystick")
    base_writer(installed, "cartpole-task", scene_id="CartpoleBalance", kind="task", command_range=None)
    with pytest.raises(NotFoundError) as info:
        get_base("go1-joystik")
    message = str(info.value)
    assert "go1-joystik" in message and "go1-joystick" in message and "cartpole-task" in message
    assert "tabrl base list" in message


def test_not_found_on_an_empty_machine(dirs) -> None:
    assert list_bases() == []
    with pytest.raises(NotFoundError, match=r"\(none\)"):
        get_base("go1-joystick")


def test_scene_base_prefers_a_joystick_policy(dirs, base_writer) -> None:
    shipped, installed = dirs
    # The task one sorts first by id: the joystick one still wins.
    base_writer(shipped, "a-go1-task", kind="task", command_range=None)
    base_writer(installed, "z-go1-joystick")
    base_writer(shipped, "cartpole-task", scene_id="CartpoleBalance", kind="task", command_range=None)
    assert scene_base("Go1JoystickFlatTerrain").id == "z-go1-joystick"
    assert scene_base("CartpoleBalance").id == "cartpole-task"
    assert scene_base("CheetahRun") is None
    assert has_base_policy("CartpoleBalance") and not has_base_policy("CheetahRun")
    # Among task policies only: by id.
    (installed / "z-go1-joystick" / "manifest.json").unlink()
    assert scene_base("Go1JoystickFlatTerrain").id == "a-go1-task"


def test_go1_joystick_base_is_available(go1_joystick_base: BasePolicy) -> None:
    """The shipped one (or, until it ships, the test stand-in): a joystick policy for the Go1 scene."""
    base = go1_joystick_base
    assert base.id == "go1-joystick" and base.scene_id == "Go1JoystickFlatTerrain"
    assert base.joystick and base.kind == "joystick" and len(base.command_range) == 3
    assert all(v > 0 for v in base.command_range)
    assert (base.dir / "params.msgpack").stat().st_size > 1000
    assert base.backend == "mujoco" and base.title and base.description
    assert scene_base("Go1JoystickFlatTerrain").joystick
    assert "go1-joystick" in {b.id for b in list_bases("Go1JoystickFlatTerrain")}
