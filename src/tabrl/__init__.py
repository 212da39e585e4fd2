"""TabRL: teach simulated robots new behaviours in plain language."""

import os
import sys
from importlib import metadata

# Headless rendering: EGL works on machines without a display (Mesa llvmpipe on CPU).
# It must be chosen before MuJoCo is imported anywhere.
if sys.platform.startswith("linux") and not os.environ.get("DISPLAY"):
    os.environ.setdefault("MUJOCO_GL", "egl")
    os.environ.setdefault("PYOPENGL_PLATFORM", "egl")

from tabrl.runtime import skip_warp  # after the environment above

skip_warp()

try:
    __version__ = metadata.version("tabrl")
except metadata.PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0"

__all__ = ["__version__"]
