"""Child processes of a run: the servers (``bench.servers``) and one-shot measurement children."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Final

ROOT: Final = Path(__file__).resolve().parent.parent
STOP_TIMEOUT: Final = 10.0


def child_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """This environment without the user's NEMO_* settings, with the repo importable, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEMO_") and k != "SKILL_SOURCE"}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p)
    env.update(extra or {})
    return env


@contextmanager
def server_process(*args: str) -> Iterator[str]:
    """Run ``python -m bench.servers ARGS``; yield the line it announces (its URL); stop it on exit."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "bench.servers", *args],
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env=child_env(),
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().strip()
        if not line:
            status = proc.wait()
            raise RuntimeError(f"bench.servers {args[0]} exited ({status}) before announcing its URL")
        yield line
    finally:
        proc.terminate()
        try:
            proc.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()
