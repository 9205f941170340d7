"""Run what we ship the way users and hosts do: the wheel in a fresh venv, the unpacked MCPB bundle.

Shared by ``scripts/release`` and ``tests/release``. Children get a scrubbed environment: no NEMO_*
settings of the developer, no PYTHONPATH or active venv leaking the checkout into a "clean" install.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
from mcp import Client, StdioServerParameters

TOOLS = frozenset({"generate", "upload", "credits", "status", "export", "cancel", "chat"})
# Nothing listens here: a server under test that tried to reach a backend on its own would fail fast
# instead of calling production.
UNREACHABLE_API = "http://127.0.0.1:9"
_LEAKY = ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PYTHONSTARTUP", "SKILL_SOURCE")


class SmokeError(RuntimeError):
    """Something we ship did not install or start."""


def npm_tools() -> Path:
    """Where the npm tools (mcpb, skills-ref, mcp-inspector) are installed: FGI_TOOLS_CACHE or ~/.cache."""
    return Path(os.environ.get("FGI_TOOLS_CACHE") or Path.home() / ".cache" / "fgi-tools")


def npm_bin(name: str) -> Path | None:
    """An installed npm tool's executable, or None."""
    path = npm_tools() / "node_modules" / ".bin" / name
    return path if path.is_file() else None


def scrubbed_env(**settings: str) -> dict[str, str]:
    """os.environ without NEMO_* and interpreter leaks, plus ``settings``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEMO_") and k not in _LEAKY}
    env.update(settings)
    return env


def isolated_settings(home: Path, api_url: str = UNREACHABLE_API) -> dict[str, str]:
    """NEMO_* settings that keep a run's config and output under ``home`` and its traffic on loopback."""
    return {
        "NEMO_API_URL": api_url,
        "NEMO_CONFIG_DIR": str(home / "config"),
        "NEMO_OUTPUT_DIR": str(home / "out"),
    }


# --- the wheel in a fresh venv ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Venv:
    """A virtual environment made for one check."""

    root: Path

    def bin(self, name: str) -> Path:
        """An executable installed in the venv (``Scripts\\x.exe`` on Windows)."""
        if os.name == "nt":
            return self.root / "Scripts" / f"{name}.exe"
        return self.root / "bin" / name

    def pip_install(self, *requirements: str, timeout: float = 900) -> None:
        """pip install into this venv, dependencies from the configured index (PyPI); raises with pip's
        output on failure (and keeps it quiet otherwise)."""
        command = [str(self.bin("python")), "-m", "pip", "install", "--quiet", *requirements]
        done = run(
            command, env=scrubbed_env(PIP_DISABLE_PIP_VERSION_CHECK="1"), cwd=self.root, timeout=timeout
        )
        if done.returncode != 0:
            raise SmokeError(
                f"pip install {' '.join(requirements)} failed:\n{(done.stdout + done.stderr)[-3000:]}"
            )


def fresh_venv(dest: Path) -> Venv:
    """``python -m venv dest`` with no system site-packages (a clean install, not our dev venv)."""
    subprocess.run([sys.executable, "-m", "venv", str(dest)], check=True, env=scrubbed_env(), timeout=120)
    return Venv(dest)


def run(
    command: Sequence[str | Path], *, env: Mapping[str, str], cwd: Path, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """Run a command to completion, capturing text output (never raises on a non-zero exit)."""
    return subprocess.run(
        [str(c) for c in command],
        capture_output=True,
        text=True,
        env=dict(env),
        cwd=cwd,
        timeout=timeout,
        check=False,
    )


def demo_problems(stdout: str, out_dir: Path) -> list[str]:
    """What is wrong with a `demo --json` run: its image must be a PNG and its video an MP4, both saved
    inside ``out_dir``."""
    try:
        result = json.loads(stdout)
    except ValueError:
        return [f"demo --json printed no JSON document: {stdout[-300:]!r}"]
    problems = []
    for key, kind, magic, offset in (("image", "PNG", b"\x89PNG\r\n\x1a\n", 0), ("video", "MP4", b"ftyp", 4)):
        path = Path(str(result.get(key)))
        if not path.is_file() or not path.resolve().is_relative_to(out_dir.resolve()):
            problems.append(f"{key} {path} is not a file inside {out_dir}")
        elif path.read_bytes()[offset : offset + len(magic)] != magic:
            problems.append(f"{key} {path} is not a {kind} (wrong magic bytes)")
    return problems


# --- MCP over stdio, as a host does -------------------------------------------------------------------------


@dataclass(frozen=True)
class ServerAnswer:
    """What a freshly launched server said over stdio."""

    server_name: str
    server_version: str
    instructions: str
    tools: frozenset[str]


async def ask_server(command: str, args: Sequence[str], env: Mapping[str, str], cwd: Path) -> ServerAnswer:
    """Launch a stdio server (initialize handshake, as Claude Desktop and Cursor do) and list its tools.
    Callers bound the time with ``anyio.fail_after``."""
    params = StdioServerParameters(command=command, args=list(args), env=dict(env), cwd=str(cwd))
    async with Client(params, mode="legacy") as client:
        info, instructions = client.server_info, client.instructions or ""
        tools = frozenset(tool.name for tool in (await client.list_tools()).tools)
    if info is None:
        raise SmokeError("the server did not identify itself in the initialize handshake")
    return ServerAnswer(info.name, info.version, instructions, tools)


def ask_server_sync(
    command: str, args: Sequence[str], env: Mapping[str, str], cwd: Path, *, timeout: float = 120
) -> ServerAnswer:
    """:func:`ask_server` for synchronous callers (the release script)."""

    async def go() -> ServerAnswer:
        with anyio.fail_after(timeout):
            return await ask_server(command, args, env, cwd)

    return anyio.run(go)


# --- the MCPB bundle ---------------------------------------------------------------------------------------

_RESOLVE_JS = """
const input = JSON.parse(require("fs").readFileSync(0, "utf8"));
import(require("url").pathToFileURL(input.library).href).then(async (mcpb) => {
  const config = await mcpb.getMcpConfigForManifest({
    manifest: input.manifest, extensionPath: input.bundle, systemDirs: input.systemDirs,
    userConfig: input.userConfig, pathSeparator: require("path").sep,
  });
  process.stdout.write(JSON.stringify(config ?? null));
});
"""


def host_config(
    bundle: Path, user_config: Mapping[str, str], system_dirs: Mapping[str, str]
) -> dict[str, Any]:
    """The ``mcp_config`` a host derives from the bundle's manifest, computed by the mcpb reference
    library (the code Claude Desktop uses), with ``${__dirname}`` and ``${user_config.*}`` substituted."""
    library = npm_tools() / "node_modules" / "@anthropic-ai" / "mcpb" / "dist" / "index.js"
    node = shutil.which("node")
    if node is None or not library.is_file():
        raise FileNotFoundError("node and @anthropic-ai/mcpb are needed to resolve the bundle's mcp_config")
    manifest = json.loads((bundle / "manifest.json").read_text(encoding="utf-8"))
    payload = {
        "library": str(library),
        "manifest": manifest,
        "bundle": str(bundle),
        "systemDirs": dict(system_dirs),
        "userConfig": dict(user_config),
    }
    done = subprocess.run(
        [node, "-e", _RESOLVE_JS],
        input=json.dumps(payload),
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    config: dict[str, Any] | None = json.loads(done.stdout)
    if config is None:
        raise ValueError("the mcpb library produced no mcp_config (a required user_config is missing?)")
    return config


def launch_command(config: Mapping[str, Any], bundle: Path) -> tuple[str, list[str], str]:
    """How to start the bundle: the host's own command when ``uv`` is installed, else this interpreter on
    the bundle's ``server/main.py`` (same code, dependencies from the current venv). Returns the command,
    its arguments and a one-line description of which way was taken."""
    if config["command"] == "uv" and shutil.which("uv") is not None:
        return str(shutil.which("uv")), list(config.get("args", [])), "uv run, as the host does"
    return sys.executable, [str(bundle / "server" / "main.py")], f"{sys.executable} server/main.py (no uv)"
