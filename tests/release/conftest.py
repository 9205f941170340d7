"""Release tests: the helpers in scripts/ on sys.path, one wheel built per session, npm tools if present."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))

import smoke  # noqa: E402  (lives in scripts/, importable only after the line above)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="session")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel as `python -m build --wheel` makes it (isolated build env, hatchling from PyPI)."""
    out = tmp_path_factory.mktemp("wheel")
    done = subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--outdir", str(out), str(ROOT)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, (done.stdout + done.stderr)[-3000:]
    (found,) = out.glob("*.whl")
    return found


def _npm_tool(name: str) -> Path:
    """An npm tool from the shared cache (.ci/run installs them); skip the test when it is absent."""
    found = smoke.npm_bin(name)
    if found is None or shutil.which("node") is None:
        pytest.skip(f"{name} is not installed (npm install --prefix {smoke.npm_tools()} ...; see .ci/run)")
    return found


@pytest.fixture(scope="session")
def mcpb() -> Path:
    """The mcpb CLI (@anthropic-ai/mcpb); its library also resolves manifests the way hosts do."""
    return _npm_tool("mcpb")


@pytest.fixture(scope="session")
def skills_ref() -> Path:
    """The strict Agent Skills validator."""
    return _npm_tool("skills-ref")
