"""SKILL.md is the single source of the skill's name, version and assistant instructions.

The wheel carries a copy at ``_data/SKILL.md``; a source checkout reads the one at the repo root.
Only the small frontmatter subset we write ourselves is parsed (``key: value`` lines, ``metadata``
as a JSON flow map), so no YAML dependency is needed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

_PKG_DIR = Path(__file__).resolve().parent
_CANDIDATES = (_PKG_DIR / "_data" / "SKILL.md", _PKG_DIR.parent.parent / "SKILL.md")


@dataclass(frozen=True)
class SkillMeta:
    """What SKILL.md declares about us."""

    name: str
    version: str
    description: str
    body: str
    metadata: dict[str, Any] = field(default_factory=dict)

    def section(self, heading: str) -> str:
        """Return the text under a ``## heading`` of the body (without the heading), or ''."""
        lines = self.body.splitlines()
        out: list[str] = []
        inside = False
        for line in lines:
            if line.startswith("## "):
                if inside:
                    break
                inside = line[3:].strip().lower() == heading.lower()
                continue
            if inside:
                out.append(line)
        return "\n".join(out).strip()


def parse_skill_md(text: str) -> SkillMeta:
    """Parse our SKILL.md: frontmatter between ``---`` lines, then the Markdown body."""
    if not text.startswith("---"):
        raise ValueError("SKILL.md must start with a '---' frontmatter block")
    _, front, body = text.split("---", 2)
    fields: dict[str, str] = {}
    for raw in front.strip().splitlines():
        key, sep, value = raw.partition(":")
        if sep and not raw.startswith((" ", "\t")):
            fields[key.strip()] = (
                value.strip().strip('"').strip("'") if key.strip() != "metadata" else value.strip()
            )
    metadata: dict[str, Any] = json.loads(fields["metadata"]) if fields.get("metadata") else {}
    version = str(metadata.get("version") or fields.get("version") or "0.0.0")
    return SkillMeta(
        name=fields.get("name", "free-generation-image"),
        version=version,
        description=fields.get("description", ""),
        body=body.strip(),
        metadata=metadata,
    )


@cache
def load_skill() -> SkillMeta:
    """Load SKILL.md from the wheel's data copy or the source checkout."""
    for path in _CANDIDATES:
        if path.is_file():
            return parse_skill_md(path.read_text(encoding="utf-8"))
    raise RuntimeError("SKILL.md not found next to the package; the installation is incomplete")


SKILL = load_skill()
