"""Attribution headers sent on every request (contract §1.1, §8).

The backend uses them to recognise skill traffic; without them anonymous exports are refused
with 402. ``X-Skill-Platform`` is, in order: the ``SKILL_SOURCE`` setting, the install path of
the package (seed rules of the skill), the MCP client's name, else ``unknown``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path, PurePath
from typing import Final

from free_generation_image.skillmeta import SKILL

PACKAGE_PATH: Final = Path(__file__).resolve().parent.parent
UNKNOWN: Final = "unknown"

# Checked in order against the install path, with "/" separators and surrounding slashes.
_PATH_RULES: Final[tuple[tuple[str, str], ...]] = (
    ("/.clawhub/", "clawhub"),
    ("/.cursor/", "cursor"),
    ("/.claude/", "claude-code"),
    ("/.openclaw/", "openclaw"),
    ("/claude extensions/", "claude-desktop"),  # where Claude Desktop unpacks MCPB bundles
)
# `clawhub install <slug>` puts a skill in <workdir>/skills/<slug>/ (no dot folder to recognise).
_CLAWHUB_SKILLS_DIR: Final = re.compile(r"/skills/[a-z0-9][a-z0-9._-]*/", re.IGNORECASE)

_CLIENT_NAMES: Final[Mapping[str, str]] = {
    "claude desktop": "claude-desktop",
    "claude-ai": "claude-desktop",
    "claude-desktop": "claude-desktop",
    "claude-code": "claude-code",
    "claude code": "claude-code",
}
_NON_SLUG: Final = re.compile(r"[^a-z0-9._-]+")
MAX_SLUG: Final = 40


def slug(text: str) -> str:
    """Lowercase ``[a-z0-9._-]`` only, dashes for the rest, bounded: always a valid header value."""
    return _NON_SLUG.sub("-", text.strip().lower()).strip("-._")[:MAX_SLUG].strip("-._")


def platform_from_path(path: str | PurePath | None) -> str | None:
    """The platform implied by where the package or skill is installed, if any."""
    if path is None:
        return None
    text = "/" + str(path).replace("\\", "/").strip("/") + "/"
    for marker, name in _PATH_RULES:
        if marker in text.lower():
            return name
    if _CLAWHUB_SKILLS_DIR.search(text):
        return "clawhub"
    return None


def platform_from_client(name: str | None) -> str | None:
    """The platform implied by the MCP client's self-reported name (``clientInfo.name``)."""
    if not name or not name.strip():
        return None
    key = " ".join(name.strip().lower().split())
    if key in _CLIENT_NAMES:
        return _CLIENT_NAMES[key]
    if "cursor" in key:
        return "cursor"
    return slug(key) or None


def skill_platform(
    *, skill_source: str | None, install_path: str | PurePath | None, client_name: str | None
) -> str:
    """``X-Skill-Platform``: explicit setting > install path > MCP client name > ``unknown``."""
    explicit = slug(skill_source) if skill_source else ""
    return explicit or platform_from_path(install_path) or platform_from_client(client_name) or UNKNOWN


def attribution_headers(
    *,
    skill_source: str | None,
    client_name: str | None,
    install_path: str | PurePath | None = PACKAGE_PATH,
    name: str = SKILL.name,
    version: str = SKILL.version,
) -> dict[str, str]:
    """The headers for every request, including a ``User-Agent`` naming this tool."""
    return {
        "X-Skill-Source": name,
        "X-Skill-Version": version,
        "X-Skill-Platform": skill_platform(
            skill_source=skill_source, install_path=install_path, client_name=client_name
        ),
        "User-Agent": f"{name}/{version}",
    }
