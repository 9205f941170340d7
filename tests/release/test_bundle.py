"""The MCPB bundle: `mcpb pack` keeps only what `uv run` needs, and the unpacked bundle serves the tools
when launched the way the host launches it (the mcpb library's resolved mcp_config)."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import anyio
import checks
import pytest
import smoke

from free_generation_image.skillmeta import SKILL

# with uv, the first launch installs the dependencies into the bundle, hence the generous timeout.
pytestmark = [pytest.mark.anyio, pytest.mark.timeout(600)]

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def packed(mcpb: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    bundle = tmp_path_factory.mktemp("mcpb") / "free-generation-image.mcpb"
    done = subprocess.run(
        [str(mcpb), "pack", str(ROOT), str(bundle)], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return bundle


@pytest.fixture(scope="module")
def unpacked(mcpb: Path, packed: Path) -> Path:
    target = packed.parent / "unpacked"
    subprocess.run(
        [str(mcpb), "unpack", str(packed), str(target)], check=True, capture_output=True, timeout=120
    )
    return target


@pytest.mark.slow
def test_bundle_holds_the_server_and_nothing_else(packed: Path) -> None:
    with zipfile.ZipFile(packed) as archive:
        names = archive.namelist()
    assert checks.bundle_problems(names) == []
    assert len(names) < 200  # a leak of .venv/ or tests/ would add thousands


def test_bundle_problems_spots_leaks() -> None:
    leaked = [
        *checks.BUNDLE_NEEDS,
        ".venv/bin/python",
        "tests/conftest.py",
        "server/free_generation_image/__pycache__/cli.cpython-311.pyc",
    ]
    assert checks.bundle_problems(leaked) == [f"should not ship {name}" for name in sorted(leaked[-3:])]
    assert checks.bundle_problems(["manifest.json"])[0] == "missing pyproject.toml"


@pytest.mark.slow
async def test_unpacked_bundle_serves_the_tools_as_the_host_starts_it(unpacked: Path, tmp_path: Path) -> None:
    config = smoke.host_config(unpacked, {"output_dir": str(tmp_path / "out")}, {"HOME": str(tmp_path)})
    command, args, how = smoke.launch_command(config, unpacked)
    env = smoke.scrubbed_env(
        **config["env"], NEMO_API_URL=smoke.UNREACHABLE_API, NEMO_CONFIG_DIR=str(tmp_path / "config")
    )
    with anyio.fail_after(300):  # with uv, the first run installs the dependencies into the bundle
        answer = await smoke.ask_server(command, args, env, tmp_path)
    assert answer.tools == smoke.TOOLS, how
    assert answer.server_version == SKILL.version
    assert answer.instructions


@pytest.mark.slow
def test_entry_point_runs_the_packed_source_and_prints_nothing(unpacked: Path, tmp_path: Path) -> None:
    # The dev venv has the package installed from the checkout; the bundle's main.py must still win.
    main = unpacked / "server" / "main.py"
    probe = (
        f"import runpy; runpy.run_path({str(main)!r}, run_name='probe'); "
        "import free_generation_image as m, sys; sys.stderr.write(m.__file__)"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=smoke.scrubbed_env(),
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""  # stdout belongs to the MCP protocol
    assert Path(done.stderr).is_relative_to(unpacked / "server")
