"""The tests never touch the user's table cache (issue 25): the default cache of the session,
and of what it runs in subprocesses, is a temporary folder."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from freezelint.model.cache import default_cache_dir


def test_the_default_cache_is_the_sessions_own(session_cache: Path) -> None:
    assert default_cache_dir() == session_cache
    real = Path(os.path.expanduser("~")) / ".cache" / "freezelint"
    assert session_cache != real and real not in session_cache.parents
    child = subprocess.run(
        [
            sys.executable,
            "-c",
            "from freezelint.model.cache import default_cache_dir as d; print(d())",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert Path(child.stdout.strip()) == session_cache
