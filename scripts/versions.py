"""Every copy of the release version, read and rewritten together.

SKILL.md's ``metadata.version`` is the source (hatch reads it for the wheel with the pattern in
pyproject.toml, skillmeta.py for ``__version__`` and X-Skill-Version). manifest.json, server.json and
the newest CHANGELOG.md entry carry copies, kept equal by :func:`bump` and checked by :func:`mismatches`.
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

# Plain X.Y.Z: clawhub rejects anything else (no pre-releases), and the registries compare these fine.
SEMVER = re.compile(r"(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)")
_RELEASE_HEADING = re.compile(
    r"^## \[(?P<version>[^\]]+)\](?: - (?P<date>\d{4}-\d{2}-\d{2}))?[ \t]*$", re.MULTILINE
)
_UNRELEASED_LINK = re.compile(
    r"^\[Unreleased\]: (?P<base>\S+)/compare/v(?P<version>\S+)\.\.\.HEAD[ \t]*$", re.MULTILINE
)


class VersionError(ValueError):
    """A version copy is missing, malformed, or a bump cannot be applied."""


def semver_key(version: str) -> tuple[int, int, int]:
    """``"1.10.0"`` -> ``(1, 10, 0)``; rejects anything but plain X.Y.Z."""
    match = SEMVER.fullmatch(version)
    if match is None:
        raise VersionError(f"{version!r} is not a plain X.Y.Z version (clawhub and the registries need one)")
    return int(match[1]), int(match[2]), int(match[3])


def skill_pattern(root: Path) -> re.Pattern[str]:
    """The regex hatch uses to read the version from SKILL.md (one definition, in pyproject.toml)."""
    config = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))
    return re.compile(config["tool"]["hatch"]["version"]["pattern"])


# --- reading -------------------------------------------------------------------------------------------


def skill_version(text: str, pattern: re.Pattern[str]) -> str:
    """The version hatch would build from this SKILL.md text."""
    match = pattern.search(text)
    if match is None:
        raise VersionError("SKILL.md has no metadata.version that pyproject's hatch pattern can read")
    return match["version"]


def changelog_version(text: str) -> str:
    """The newest released version in a Keep-a-Changelog text (``[Unreleased]`` is skipped)."""
    for match in _RELEASE_HEADING.finditer(text):
        if match["version"] != "Unreleased":
            return match["version"]
    raise VersionError("CHANGELOG.md has no '## [X.Y.Z] - YYYY-MM-DD' entry")


def server_json_versions(doc: dict[str, Any]) -> dict[str, str]:
    """The top-level version and each package's version of a registry server.json."""
    found = {"server.json version": str(doc.get("version"))}
    for i, package in enumerate(doc.get("packages", [])):
        found[f"server.json packages[{i}] ({package.get('registryType')}) version"] = str(
            package.get("version")
        )
    return found


def read_all(root: Path) -> dict[str, str]:
    """Every version copy in the checkout, by a label that says where it is."""
    found = {
        "SKILL.md metadata.version": skill_version(_read(root / "SKILL.md"), skill_pattern(root)),
        "manifest.json version": str(json.loads(_read(root / "manifest.json")).get("version")),
    }
    found.update(server_json_versions(json.loads(_read(root / "server.json"))))
    found["CHANGELOG.md newest entry"] = changelog_version(_read(root / "CHANGELOG.md"))
    return found


def mismatches(found: dict[str, str], expected: str) -> list[str]:
    """Lines naming each copy that differs from ``expected`` (empty when all agree)."""
    return [
        f"{label}: {version!r} (expected {expected!r})"
        for label, version in found.items()
        if version != expected
    ]


# --- rewriting (pure: text in, text out) ---------------------------------------------------------------


def bump_skill(text: str, pattern: re.Pattern[str], new: str) -> str:
    """SKILL.md with the version hatch reads replaced, and nothing else touched."""
    match = pattern.search(text)
    if match is None:
        raise VersionError("SKILL.md has no metadata.version to bump")
    start, end = match.span("version")
    return text[:start] + new + text[end:]


def bump_json(text: str, new: str, edit: Callable[[dict[str, Any], str], None]) -> str:
    """A JSON file re-serialized the way it is kept (2-space indent, UTF-8, final newline) after ``edit``."""
    doc = json.loads(text)
    edit(doc, new)
    return dump_json(doc)


def dump_json(doc: dict[str, Any]) -> str:
    """The canonical layout of our JSON files, so a bump changes only the version lines."""
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def edit_manifest(doc: dict[str, Any], new: str) -> None:
    doc["version"] = new


def edit_server_json(doc: dict[str, Any], new: str) -> None:
    doc["version"] = new
    for package in doc.get("packages", []):
        package["version"] = new


def bump_changelog(text: str, new: str, today: date) -> str:
    """Turn ``[Unreleased]`` into the ``new`` entry dated ``today`` under a fresh, empty ``[Unreleased]``,
    and point the compare links at the new tag."""
    headings = list(_RELEASE_HEADING.finditer(text))
    unreleased = next((h for h in headings if h["version"] == "Unreleased"), None)
    if unreleased is None:
        raise VersionError("CHANGELOG.md has no '## [Unreleased]' section to release")
    following = [h for h in headings if h.start() > unreleased.start()]
    notes_end = following[0].start() if following else _link_block_start(text, unreleased.end())
    if not text[unreleased.end() : notes_end].strip():
        raise VersionError("CHANGELOG.md has nothing under [Unreleased]: describe the release before bumping")
    heading = f"## [Unreleased]\n\n## [{new}] - {today.isoformat()}"
    text = text[: unreleased.start()] + heading + text[unreleased.end() :]
    link = _UNRELEASED_LINK.search(text)
    if link is not None:
        base, previous = link["base"], link["version"]
        text = (
            f"{text[: link.start()]}[Unreleased]: {base}/compare/v{new}...HEAD\n"
            f"[{new}]: {base}/compare/v{previous}...v{new}{text[link.end() :]}"
        )
    return text


def _link_block_start(text: str, after: int) -> int:
    """Where the trailing ``[label]: url`` reference block begins (or the end of the text)."""
    match = re.compile(r"^\[[^\]]+\]: \S+", re.MULTILINE).search(text, after)
    return match.start() if match else len(text)


# --- the whole bump ------------------------------------------------------------------------------------


def bump(root: Path, new: str, today: date) -> list[Path]:
    """Set every version copy to ``new`` (greater than the current one); returns the files rewritten.

    Every new text is computed before any file is written, so a refused bump leaves the checkout as it was.
    """
    pattern = skill_pattern(root)
    current = skill_version(_read(root / "SKILL.md"), pattern)
    if semver_key(new) <= semver_key(current):
        raise VersionError(f"{new} is not greater than the current version {current}")
    texts = {
        root / "SKILL.md": bump_skill(_read(root / "SKILL.md"), pattern, new),
        root / "manifest.json": bump_json(_read(root / "manifest.json"), new, edit_manifest),
        root / "server.json": bump_json(_read(root / "server.json"), new, edit_server_json),
        root / "CHANGELOG.md": bump_changelog(_read(root / "CHANGELOG.md"), new, today),
    }
    for path, text in texts.items():
        path.write_text(text, encoding="utf-8", newline="\n")
    return list(texts)


def release_notes(text: str, version: str) -> str:
    """The body of one CHANGELOG entry (for the GitHub release and clawhub's --changelog)."""
    headings = list(_RELEASE_HEADING.finditer(text))
    for i, heading in enumerate(headings):
        if heading["version"] == version:
            end = headings[i + 1].start() if i + 1 < len(headings) else _link_block_start(text, heading.end())
            return text[heading.end() : end].strip()
    raise VersionError(f"CHANGELOG.md has no entry for {version}")


@dataclass(frozen=True)
class Agreement:
    """The source version and every copy that disagrees with it."""

    version: str
    problems: list[str]


def check(root: Path) -> Agreement:
    """Compare every copy in the checkout against SKILL.md's version."""
    found = read_all(root)
    version = found["SKILL.md metadata.version"]
    problems = mismatches(found, version)
    try:
        semver_key(version)
    except VersionError as err:
        problems.insert(0, str(err))
    return Agreement(version, problems)


def _read(path: Path) -> str:
    return path.read_text(encoding="utf-8")
