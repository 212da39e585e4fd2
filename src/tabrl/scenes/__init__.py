"""Scene library: Playground tasks, Menagerie robots and a person's own MJCF.

>>> from tabrl.scenes import list_specs, robot_card, load_scene
>>> [s.id for s in list_specs()][:2]
['AcrobotSwingup', 'AcrobotSwingupSparse']
>>> robot_card("CartpoleBalance").nu
1
"""

from tabrl.scenes.cards import RobotCard, has_base_policy, robot_card
from tabrl.scenes.catalog import SceneSpec, get_spec, list_specs
from tabrl.scenes.loader import LoadedScene, SceneLoadError, load_scene, register_mjcf

__all__ = [
    "LoadedScene",
    "RobotCard",
    "SceneLoadError",
    "SceneSpec",
    "get_spec",
    "has_base_policy",
    "list_specs",
    "load_scene",
    "register_mjcf",
    "robot_card",
]
