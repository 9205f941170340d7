"""server.json, the MCP registry entry: valid for the registry and pointing at our PyPI package.

The registry's schema cannot be fetched here and no package ships it, so ``checks.SERVER_JSON_RULES`` holds
its constraints that apply to us; ``mcp-publisher validate`` (in the publish plan) checks the full schema.
"""

from __future__ import annotations

import copy
import json
import tomllib
from pathlib import Path
from typing import Any

import checks
import pytest

from free_generation_image.config import Settings

ROOT = Path(__file__).resolve().parents[2]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["name"]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def server_json() -> dict[str, Any]:
    doc: dict[str, Any] = json.loads((ROOT / "server.json").read_text(encoding="utf-8"))
    return doc


def test_server_json_passes_the_registry_rules_and_names_our_package() -> None:
    assert checks.server_json_problems(server_json(), project_name=PROJECT, readme=README) == []


def test_readme_proves_pypi_ownership_for_the_registry() -> None:
    assert f"mcp-name: {server_json()['name']}" in README


def _set(doc: dict[str, Any], path: str, value: Any) -> None:
    *parents, last = path.split(".")
    node: Any = doc
    for key in parents:
        node = node[int(key)] if key.isdigit() else node[key]
    if value is _DELETE:
        del node[last]
    else:
        node[int(last) if last.isdigit() else last] = value


_DELETE = object()


@pytest.mark.parametrize(
    ("path", "value", "expected"),
    [
        ("description", "x" * 101, "is too long"),
        ("name", "free-generation-image", "does not match"),
        ("name", "io.github.someone-else/free-generation-image", "name must be"),
        ("version", _DELETE, "'version' is a required property"),
        ("packages.0.version", "latest", "should not be valid"),
        ("packages.0.transport", {"type": "websocket"}, "is not one of"),
        ("packages.0.identifier", "free_generation_image_typo", "is not the project"),
        (
            "packages.0.registry_type",
            "pypi",
            "Additional properties",
        ),  # snake_case is not the registry's spelling
        ("packages.0.packageArguments", [], "exactly ['serve']"),
        ("packages.0.environmentVariables.0.isSecret", False, "NEMO_TOKEN must be declared with isSecret"),
        ("packages.0.environmentVariables.0.format", "secret", "is not one of"),
    ],
)
def test_each_rule_catches_its_mistake(path: str, value: Any, expected: str) -> None:
    doc = copy.deepcopy(server_json())
    _set(doc, path, value)
    problems = checks.server_json_problems(doc, project_name=PROJECT, readme=README)
    assert any(expected in p for p in problems), problems


def test_missing_mcp_name_in_readme_is_reported() -> None:
    problems = checks.server_json_problems(server_json(), project_name=PROJECT, readme="# no marker")
    assert any("mcp-name" in p for p in problems)


def test_declared_environment_variables_are_ones_the_server_reads(tmp_path: Path) -> None:
    baseline = Settings.from_env({})
    values = {"NEMO_TOKEN": "nmv_usr_declared", "NEMO_OUTPUT_DIR": str(tmp_path / "out")}
    for variable in server_json()["packages"][0]["environmentVariables"]:
        name = variable["name"]
        assert name in values, f"server.json declares {name}: add it to this test with a value to set"
        assert Settings.from_env({name: values[name]}) != baseline, f"{name} has no effect on Settings"
