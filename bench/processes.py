"""Child processes of a run: the servers (``bench.servers``) and one-shot measurement children."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import psutil  # type: ignore[import-untyped]  # no stubs; not worth a dependency

ROOT: Final = Path(__file__).resolve().parent.parent
STOP_TIMEOUT: Final = 10.0


def child_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """This environment without the user's NEMO_* settings, with the repo importable, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEMO_") and k != "SKILL_SOURCE"}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p)
    env.update(extra or {})
    return env


@dataclass(frozen=True)
class Server:
    """A running ``bench.servers`` process: what it announced (its URL first) and its pid."""

    announced: str
    pid: int

    @property
    def url(self) -> str:
        return self.announced.split()[0]

    def cpu_seconds(self) -> float:
        """User + system CPU time the process has used so far."""
        times = psutil.Process(self.pid).cpu_times()
        return float(times.user + times.system)


@contextmanager
def server_process(*args: str) -> Iterator[Server]:
    """Run ``python -m bench.servers ARGS``; yield it once it has announced its URL; stop it on exit."""
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
        yield Server(line, proc.pid)
    finally:
        proc.terminate()
        try:
            proc.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()
