"""Process-wide set-up done on `import tabrl`: Warp kept out of MJX's import, stdout left clean."""

from __future__ import annotations

import os
import subprocess
import sys

_PROBE = (
    "import sys, tabrl, mujoco.mjx\n"
    "from mujoco.mjx import warp\n"
    "print(warp.WARP_INSTALLED, sys.modules.get('warp') is not None)\n"
)


def test_mjx_imports_without_warp_and_prints_nothing_to_stdout() -> None:
    done = subprocess.run(
        [sys.executable, "-c", _PROBE], capture_output=True, text=True, timeout=300,
        env={**os.environ, "TABRL_WARP": "0"}, check=True,
    )  # fmt: skip
    # The only line on stdout is the probe's own: MJX's "Failed to import warp" went to stderr.
    assert done.stdout == "False False\n", done.stdout
    assert "Failed to import warp" in done.stderr
