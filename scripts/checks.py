"""Static checks of the release artifacts: the wheel, the MCPB bundle, server.json.

Each function returns a list of problems (empty = fine) so the release script can report them all and
the tests can assert on them. Nothing here runs what it checks; ``smoke.py`` does that.
"""

from __future__ import annotations

import email
import re
import tomllib
import zipfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import jsonschema  # type: ignore[import-untyped]  # no stubs; adding types-jsonschema is not worth a dev dependency

COMMAND = "free-generation-image"
REGISTRY_NAME = "io.github.free-generation-image/free-generation-image"

# The constraints of the MCP registry's server.json schema (2025-12-11; 2025-09-29 additionally requires
# a package version and forbids unknown package keys, kept here too) that apply to an entry like ours.
# A transcription, not the schema itself: mcp-publisher validates against the full one when publishing.
_INPUT = {
    "type": "object",
    "properties": {
        "description": {"type": "string"},
        "isRequired": {"type": "boolean"},
        "isSecret": {"type": "boolean"},
        "format": {"enum": ["string", "number", "boolean", "filepath"]},
        "value": {"type": "string"},
        "default": {"type": "string"},
        "placeholder": {"type": "string"},
        "choices": {"type": "array", "items": {"type": "string"}},
    },
}
SERVER_JSON_RULES: dict[str, Any] = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "type": "object",
    "required": ["name", "description", "version"],
    "properties": {
        "$schema": {"type": "string", "format": "uri"},
        "name": {
            "type": "string",
            "pattern": r"^[a-zA-Z0-9.-]+/[a-zA-Z0-9._-]+$",
            "minLength": 3,
            "maxLength": 200,
        },
        "title": {"type": "string", "minLength": 1, "maxLength": 100},
        "description": {"type": "string", "minLength": 1, "maxLength": 100},
        "version": {"type": "string", "maxLength": 255, "pattern": r"^[0-9]"},
        "websiteUrl": {"type": "string", "format": "uri"},
        "repository": {
            "type": "object",
            "required": ["url", "source"],
            "properties": {
                "url": {"type": "string", "format": "uri"},
                "source": {"type": "string"},
                "id": {"type": "string"},
                "subfolder": {"type": "string"},
            },
        },
        "packages": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["registryType", "identifier", "version", "transport"],
                "properties": {
                    "registryType": {"type": "string"},
                    "registryBaseUrl": {"type": "string", "format": "uri"},
                    "identifier": {"type": "string"},
                    "version": {"type": "string", "minLength": 1, "not": {"const": "latest"}},
                    "fileSha256": {"type": "string", "pattern": "^[a-f0-9]{64}$"},
                    "runtimeHint": {"type": "string"},
                    "transport": {
                        "type": "object",
                        "required": ["type"],
                        "properties": {"type": {"enum": ["stdio", "streamable-http", "sse"]}},
                    },
                    "runtimeArguments": {"type": "array", "items": {"$ref": "#/definitions/argument"}},
                    "packageArguments": {"type": "array", "items": {"$ref": "#/definitions/argument"}},
                    "environmentVariables": {
                        "type": "array",
                        "items": {
                            "allOf": [
                                _INPUT,
                                {
                                    "type": "object",
                                    "required": ["name"],
                                    "properties": {"name": {"type": "string"}},
                                },
                            ]
                        },
                    },
                },
            },
        },
    },
    "definitions": {
        "argument": {
            "allOf": [
                _INPUT,
                {
                    "type": "object",
                    "required": ["type"],
                    "properties": {
                        "type": {"enum": ["positional", "named"]},
                        "name": {"type": "string"},
                        "valueHint": {"type": "string"},
                        "isRepeated": {"type": "boolean"},
                    },
                },
            ],
            "anyOf": [
                {"properties": {"type": {"const": "named"}}, "required": ["name"]},
                {
                    "properties": {"type": {"const": "positional"}},
                    "anyOf": [{"required": ["value"]}, {"required": ["valueHint"]}],
                },
            ],
        },
    },
}


def server_json_problems(doc: dict[str, Any], *, project_name: str, readme: str) -> list[str]:
    """What the registry would reject in server.json, or what would make it point at the wrong package."""
    validator = jsonschema.Draft7Validator(SERVER_JSON_RULES, format_checker=jsonschema.FormatChecker())
    problems = [
        f"{'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}"
        for e in sorted(validator.iter_errors(doc), key=lambda e: list(map(str, e.absolute_path)))
    ]
    if doc.get("name") != REGISTRY_NAME:
        problems.append(f"name must be {REGISTRY_NAME!r} (the GitHub namespace we can prove)")
    if f"mcp-name: {doc.get('name')}" not in readme:
        problems.append(
            f"README.md (the PyPI description) must contain 'mcp-name: {doc.get('name')}' for the "
            "registry's PyPI ownership check"
        )
    pypi = [p for p in doc.get("packages", []) if p.get("registryType") == "pypi"]
    if len(pypi) != 1:
        problems.append("exactly one pypi package expected")
    for package in pypi:
        if package.get("identifier") != project_name:
            problems.append(
                f"pypi identifier {package.get('identifier')!r} is not the project {project_name!r}"
            )
        if (package.get("transport") or {}).get("type") != "stdio":
            problems.append("the pypi package must use the stdio transport")
        arguments = [a.get("value") for a in package.get("packageArguments", [])]
        if arguments != ["serve"]:
            problems.append(
                f"packageArguments must be exactly ['serve'] (runs `{COMMAND} serve`), got {arguments}"
            )
        secrets = {v.get("name") for v in package.get("environmentVariables", []) if v.get("isSecret")}
        if "NEMO_TOKEN" not in secrets:
            problems.append("NEMO_TOKEN must be declared with isSecret: true")
    return problems


def wheel_problems(wheel: Path, version: str) -> list[str]:
    """What the wheel lacks at run time, or carries by mistake."""
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        info = f"free_generation_image-{version}.dist-info"
        metadata = (
            email.message_from_bytes(archive.read(f"{info}/METADATA"))
            if f"{info}/METADATA" in names
            else None
        )
        entry_points = (
            archive.read(f"{info}/entry_points.txt").decode() if f"{info}/entry_points.txt" in names else ""
        )
    problems = [
        f"missing {name}"
        for name in (
            "free_generation_image/_data/SKILL.md",
            "free_generation_image/cli/__init__.py",
            "free_generation_image/mcp_server.py",
        )
        if name not in names
    ]
    problems += [
        f"should not ship {name}"
        for name in sorted(names)
        if name.startswith(("tests/", "server/", "scripts/")) or "__pycache__" in name
    ]
    if metadata is None:
        problems.append(f"no {info}/METADATA (wrong version in the file name?)")
    else:
        if metadata["Version"] != version:
            problems.append(f"METADATA Version {metadata['Version']!r} != {version!r}")
        if f"mcp-name: {REGISTRY_NAME}" not in str(metadata.get_payload()):
            problems.append(f"the PyPI description lacks 'mcp-name: {REGISTRY_NAME}'")
    if f"{COMMAND} = free_generation_image.cli:main" not in entry_points:
        problems.append(f"no console script {COMMAND!r} -> free_generation_image.cli:main")
    return problems


BUNDLE_TOP = frozenset(
    {"manifest.json", "pyproject.toml", "requirements.lock", "README.md", "LICENSE", "SKILL.md", "server"}
)
BUNDLE_NEEDS = (
    "manifest.json",
    "pyproject.toml",
    "requirements.lock",
    "README.md",
    "LICENSE",
    "SKILL.md",
    "server/main.py",
    "server/free_generation_image/__init__.py",
    "server/free_generation_image/mcp_server.py",
    "server/free_generation_image/cli/__init__.py",
)


def bundle_problems(names: Iterable[str]) -> list[str]:
    """What an .mcpb archive (its member names) lacks for ``uv run``, or carries that it should not."""
    names = {n.rstrip("/") for n in names}
    problems = [f"missing {need}" for need in BUNDLE_NEEDS if need not in names]
    problems += [
        f"should not ship {name}"
        for name in sorted(names)
        if name.split("/", 1)[0] not in BUNDLE_TOP or "__pycache__" in name or name.endswith(".pyc")
    ]
    return problems


# The MCPB bundle's pinned runtime dependencies (`scripts/release lock` writes it; `uv run` installs it).
LOCK_FILE = "requirements.lock"
_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)")


def lock_problems(root: Path) -> list[str]:
    """Every runtime dependency of pyproject.toml pinned (with hashes) in requirements.lock, within its
    declared range; an empty list when all is well."""
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name
    from packaging.version import Version

    path = root / LOCK_FILE
    if not path.is_file():
        return [f"{LOCK_FILE} is missing: run scripts/release lock"]
    text = path.read_text(encoding="utf-8")
    pins = {
        canonicalize_name(m.group(1)): Version(m.group(2)) for m in map(_PIN.match, text.splitlines()) if m
    }
    problems = []
    if "--hash=sha256:" not in text:
        problems.append(f"{LOCK_FILE} has no hashes")
    project = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    for spec in project["dependencies"]:
        requirement = Requirement(spec)
        pinned = pins.get(canonicalize_name(requirement.name))
        if pinned is None:
            problems.append(f"{requirement.name} is not pinned in {LOCK_FILE}")
        elif not requirement.specifier.contains(pinned, prereleases=True):
            problems.append(f"{requirement.name}=={pinned} in {LOCK_FILE} is outside {requirement.specifier}")
    return problems
