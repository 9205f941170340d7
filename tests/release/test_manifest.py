"""manifest.json, the MCPB bundle manifest: valid, truthful about the server, and resolved by a host into
settings the server understands (an unset token or folder must read as unset, never as a literal)."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import jsonschema  # type: ignore[import-untyped]
import pytest
import smoke
from mcp import Client

from free_generation_image.config import Settings, default_output_dir
from free_generation_image.mcp_server import build_server

pytestmark = pytest.mark.anyio

ROOT = Path(__file__).resolve().parents[2]
SYSTEM_DIRS = {
    "HOME": "/home/u",
    "DESKTOP": "/home/u/Desktop",
    "DOCUMENTS": "/home/u/Documents",
    "DOWNLOADS": "/home/u/Downloads",
}


def manifest() -> dict[str, Any]:
    doc: dict[str, Any] = json.loads((ROOT / "manifest.json").read_text(encoding="utf-8"))
    return doc


def test_mcpb_validate_accepts_the_manifest(mcpb: Path) -> None:
    done = subprocess.run(
        [str(mcpb), "validate", str(ROOT / "manifest.json")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_manifest_matches_the_mcpb_json_schema(mcpb: Path) -> None:
    # The JSON copy of the zod schema that `mcpb validate` uses, shipped in the npm package.
    version = manifest()["manifest_version"]
    schema_path = mcpb.resolve().parents[1] / f"mcpb-manifest-v{version}.schema.json"
    schema = json.loads(schema_path.read_text(encoding="utf-8"))
    jsonschema.Draft7Validator(schema).validate(manifest())


def test_uv_server_runs_the_bundled_entry_point() -> None:
    server = manifest()["server"]
    assert manifest()["manifest_version"] == "0.4"  # the first version with server.type "uv"
    assert server["type"] == "uv"
    assert (ROOT / server["entry_point"]).is_file()
    assert server["mcp_config"]["command"] == "uv"
    # The pinned dependencies CI tested (requirements.lock), not a fresh resolution on the user's machine.
    assert server["mcp_config"]["args"] == [
        "run",
        "--directory",
        "${__dirname}",
        "--no-project",
        "--with-requirements",
        "requirements.lock",
        server["entry_point"],
    ]


async def test_declared_tools_are_exactly_the_servers_tools(tmp_path: Path) -> None:
    settings = Settings.from_env(
        {}, api_url=smoke.UNREACHABLE_API, config_dir=tmp_path / "c", output_dir=tmp_path / "o"
    )
    async with Client(build_server(settings), mode="legacy") as client:
        served = {tool.name for tool in (await client.list_tools()).tools}
        assert client.server_info is not None
        assert client.server_info.version == manifest()["version"]
    declared = [tool["name"] for tool in manifest()["tools"]]
    assert sorted(declared) == sorted(served) == sorted(smoke.TOOLS)
    assert all(tool.get("description") for tool in manifest()["tools"])


def test_nothing_secret_or_machine_specific_is_baked_in() -> None:
    env = manifest()["server"]["mcp_config"]["env"]
    # Values come from the user's settings only; the host substitutes them at launch.
    placeholders = [re.fullmatch(r"\$\{user_config\.([a-z_]+)\}", value) for value in env.values()]
    assert all(placeholders), env
    assert "SKILL_SOURCE" not in env  # attribution comes from the MCP client's name
    user_config = manifest()["user_config"]
    assert user_config["nemo_token"]["sensitive"] is True
    assert user_config["nemo_token"]["required"] is False
    assert all("default" not in option for option in user_config.values() if option.get("sensitive"))
    assert set(user_config) == {match[1] for match in placeholders if match}  # every setting is used


def test_privacy_policy_is_declared_for_the_backend_that_processes_prompts() -> None:
    assert manifest()["privacy_policies"] == ["https://nemovideo.com/privacy"]


@pytest.mark.usefixtures("mcpb")
def test_host_resolution_of_an_untouched_install_means_defaults() -> None:
    # What Claude Desktop's library makes of our manifest when the user leaves both settings empty:
    # placeholders stay literal, and the server must read them as unset.
    config = smoke.host_config(ROOT, {}, SYSTEM_DIRS)
    assert config["args"] == [
        "run",
        "--directory",
        str(ROOT),
        "--no-project",
        "--with-requirements",
        "requirements.lock",
        "server/main.py",
    ]
    settings = Settings.from_env(config["env"])
    assert settings.token is None
    assert settings.output_dir == default_output_dir()


@pytest.mark.usefixtures("mcpb")
def test_host_resolution_passes_the_users_settings(tmp_path: Path) -> None:
    chosen = {"nemo_token": "nmv_usr_from_settings", "output_dir": str(tmp_path / "Renders")}
    settings = Settings.from_env(smoke.host_config(ROOT, chosen, SYSTEM_DIRS)["env"])
    assert settings.token == "nmv_usr_from_settings"
    assert settings.output_dir == tmp_path / "Renders"


@pytest.mark.usefixtures("mcpb")
def test_an_output_default_would_reach_the_server_unresolved(tmp_path: Path) -> None:
    # Why output_dir has no manifest default: the reference library substitutes ${DOWNLOADS} in mcp_config
    # but not inside user_config defaults, so the server would get a literal "${DOWNLOADS}/..." path.
    doc = manifest()
    doc["user_config"]["output_dir"]["default"] = "${DOWNLOADS}/free-generation-image"
    (tmp_path / "manifest.json").write_text(json.dumps(doc), encoding="utf-8")
    resolved = smoke.host_config(tmp_path, {}, SYSTEM_DIRS)
    assert resolved["env"]["NEMO_OUTPUT_DIR"] == "${DOWNLOADS}/free-generation-image"
