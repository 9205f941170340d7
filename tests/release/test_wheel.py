"""The wheel, installed into a fresh venv outside the checkout, runs `--version`, `serve` and `demo`.

Slow by nature (pip resolves the dependencies from the index): about 45 s, most of it pip.
"""

from __future__ import annotations

import email
import json
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import anyio
import checks
import pytest
import smoke

from free_generation_image.skillmeta import SKILL

# pip resolves ~35 packages from the index: minutes on a busy machine, hence the generous timeout.
pytestmark = [pytest.mark.anyio, pytest.mark.timeout(600)]

ROOT = Path(__file__).resolve().parents[2]
VERSION = SKILL.version


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> smoke.Venv:
    """A venv with no site-packages of ours, and the plain wheel (no extras) installed with pip."""
    where = tmp_path_factory.mktemp("clean")
    assert not where.resolve().is_relative_to(ROOT), "the clean venv must not see the checkout"
    venv = smoke.fresh_venv(where / "venv")
    venv.pip_install(str(wheel))
    return venv


@pytest.mark.slow
def test_wheel_carries_what_it_needs_and_passes_twine(wheel: Path) -> None:
    assert checks.wheel_problems(wheel, VERSION) == []
    done = subprocess.run(
        [sys.executable, "-m", "twine", "check", "--strict", str(wheel)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.slow
def test_every_runtime_dependency_has_an_upper_bound_and_pyav_is_one_of_them(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        (name,) = [n for n in archive.namelist() if n.endswith(".dist-info/METADATA")]
        metadata = email.message_from_bytes(archive.read(name))
    requires = metadata.get_all("Requires-Dist") or []
    runtime = [r for r in requires if "extra ==" not in r]
    names = {re.split(r"[\s<>=!~;\[(]", r, maxsplit=1)[0].lower() for r in runtime}
    assert {"mcp", "httpx2", "pydantic", "pillow", "av"} <= names
    unbounded = [r for r in runtime if "<" not in r.split(";")[0]]
    assert unbounded == [], "a new major version could break an install: " + ", ".join(unbounded)
    # `[video]` stays a valid extra (older instructions use it), and adds nothing now.
    assert "video" in (metadata.get_all("Provides-Extra") or [])
    assert not [r for r in requires if re.search(r"extra\s*==\s*['\"]video['\"]", r)]


@pytest.mark.slow
def test_version_and_metadata_come_from_the_installed_wheel(installed: smoke.Venv, tmp_path: Path) -> None:
    env = smoke.scrubbed_env(**smoke.isolated_settings(tmp_path))
    shown = smoke.run([installed.bin(checks.COMMAND), "--version"], env=env, cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.strip() == f"{checks.COMMAND} {VERSION}"
    probe = (
        "import importlib.metadata, free_generation_image as m; "
        "print(m.__file__); print(m.__version__); print(importlib.metadata.version('free-generation-image'))"
    )
    done = smoke.run([installed.bin("python"), "-c", probe], env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    location, version, metadata = done.stdout.split()
    assert Path(location).is_relative_to(installed.root)
    assert version == metadata == VERSION


@pytest.mark.slow
async def test_serve_over_stdio_lists_the_seven_tools(installed: smoke.Venv, tmp_path: Path) -> None:
    env = smoke.scrubbed_env(**smoke.isolated_settings(tmp_path))
    with anyio.fail_after(120):
        answer = await smoke.ask_server(str(installed.bin(checks.COMMAND)), ["serve"], env, tmp_path)
    assert answer.tools == smoke.TOOLS
    assert (answer.server_name, answer.server_version) == ("free-generation-image", VERSION)
    # The instructions are SKILL.md's tool guide, read from the wheel's data copy at run time.
    assert answer.instructions == SKILL.section("How to use the tools")


@pytest.mark.slow
def test_a_plain_install_has_pyav_with_an_h264_encoder(installed: smoke.Venv, tmp_path: Path) -> None:
    # No extras: `uvx free-generation-image serve`, `uv tool install` and the MCPB bundle install this way.
    probe = (
        "import av; from free_generation_image import videolib; "
        "print(av.__version__); print(videolib.h264_encoder())"
    )
    env = smoke.scrubbed_env(**smoke.isolated_settings(tmp_path))
    done = smoke.run([installed.bin("python"), "-c", probe], env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    version, encoder = done.stdout.split()
    assert int(version.split(".")[0]) >= 14
    assert encoder == "libx264"  # PyPI's PyAV wheels carry it


@pytest.mark.slow
def test_demo_round_trip_saves_an_image_and_a_video_with_no_extras(
    installed: smoke.Venv, tmp_path: Path
) -> None:
    env = smoke.scrubbed_env(**smoke.isolated_settings(tmp_path))
    done = smoke.run([installed.bin(checks.COMMAND), "demo", "--json"], env=env, cwd=tmp_path, timeout=180)
    assert done.returncode == 0, done.stderr[-2000:]
    assert smoke.demo_problems(done.stdout, tmp_path / "out") == []
    # The saved clip gets a real poster-frame preview in this install, as an MCP host would show it.
    video = json.loads(done.stdout)["video"]
    probe = (
        "import sys; from pathlib import Path; from free_generation_image import previews; "
        "p = previews.try_preview(Path(sys.argv[1])); print(type(p).__name__, getattr(p, 'mime_type', p))"
    )
    preview = smoke.run([installed.bin("python"), "-c", probe, video], env=env, cwd=tmp_path)
    assert preview.returncode == 0, preview.stderr[-2000:]
    assert preview.stdout.split()[0] == "Preview", preview.stdout


@pytest.mark.slow
def test_the_video_extra_still_installs(installed: smoke.Venv, wheel: Path) -> None:
    # Last of the venv's tests: documented `[video]` commands keep working (the extra is empty now).
    installed.pip_install(f"{wheel}[video]")


def test_demo_problems_notices_a_missing_or_wrong_file(tmp_path: Path) -> None:
    fake = tmp_path / "out" / "a.png"
    fake.parent.mkdir()
    fake.write_bytes(b"GIF89a")
    problems = smoke.demo_problems(json.dumps({"image": str(fake), "video": None}), tmp_path / "out")
    assert len(problems) == 2
    assert "is not a PNG" in problems[0]
    assert "video None is not a file" in problems[1]


@pytest.mark.slow
async def test_uvx_runs_the_built_wheel(wheel: Path, tmp_path: Path) -> None:
    # `uvx free-generation-image serve` is the documented one-line install for every host.
    uvx = shutil.which("uvx")
    if uvx is None:
        pytest.skip("uv is not installed (pip install uv)")
    env = smoke.scrubbed_env(**smoke.isolated_settings(tmp_path))
    done = smoke.run(
        [uvx, "--from", str(wheel), checks.COMMAND, "--version"], env=env, cwd=tmp_path, timeout=300
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == f"{checks.COMMAND} {VERSION}"
    with anyio.fail_after(300):
        answer = await smoke.ask_server(uvx, ["--from", str(wheel), checks.COMMAND, "serve"], env, tmp_path)
    assert answer.tools == smoke.TOOLS
    # The same install makes videos: PyAV comes with it, no extra to name.
    demo = smoke.run(
        [uvx, "--from", str(wheel), checks.COMMAND, "demo", "--json"], env=env, cwd=tmp_path, timeout=300
    )
    assert demo.returncode == 0, demo.stderr[-2000:]
    assert smoke.demo_problems(demo.stdout, tmp_path / "out") == []
