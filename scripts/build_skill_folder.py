#!/usr/bin/env python3
"""Assemble the clawhub / Agent Skills folder: ``dist/skill/free-generation-image/``.

It holds only what an agent reads: SKILL.md, the ``references/`` it links to (if any) and LICENSE (MIT
asks for the notice to travel with copies). The frontmatter is checked for what OpenClaw needs to run
the CLI: the command in ``metadata.openclaw.requires.bins`` and an ``install`` entry of an allowed kind.

Usage: scripts/build_skill_folder.py [--out DIR]   (prints the folder's path)
"""

from __future__ import annotations

import argparse
import re
import shutil
import sys
from pathlib import Path
from typing import Any

from free_generation_image.skillmeta import parse_skill_md

ROOT = Path(__file__).resolve().parent.parent
COMMAND = "free-generation-image"
INSTALL_KINDS = frozenset({"brew", "node", "go", "uv"})  # what clawhub's schema accepts
_NAME = re.compile(r"[a-z0-9]+(-[a-z0-9]+)*")
_LOCAL_LINK = re.compile(r"\]\((?!https?:|mailto:|#)([^)\s]+)\)")


class SkillError(ValueError):
    """SKILL.md cannot be published as it is."""


def frontmatter_problems(text: str) -> list[str]:
    """What is missing or wrong in SKILL.md for clawhub, OpenClaw and the strict Agent Skills validator."""
    meta = parse_skill_md(text)
    problems: list[str] = []
    if not _NAME.fullmatch(meta.name) or len(meta.name) > 64:
        problems.append(f"name {meta.name!r}: 1-64 lowercase letters, digits and single hyphens")
    if not meta.description or len(meta.description) > 1024:
        problems.append("description: required, at most 1024 characters")
    if re.search(r"^version:", text.split("---", 2)[1], re.MULTILINE):
        problems.append("a top-level 'version:' is rejected by skills-ref: keep it in metadata.version only")
    openclaw: dict[str, Any] = meta.metadata.get("openclaw") or {}
    if COMMAND not in (openclaw.get("requires") or {}).get("bins", []):
        problems.append(f"metadata.openclaw.requires.bins must list {COMMAND!r} (the skill runs the CLI)")
    installs: list[dict[str, Any]] = openclaw.get("install") or []
    for entry in installs:
        if entry.get("kind") not in INSTALL_KINDS:
            problems.append(
                f"metadata.openclaw.install kind {entry.get('kind')!r} is not one of {sorted(INSTALL_KINDS)}"
            )
    if not any(e.get("kind") == "uv" and e.get("package") == COMMAND for e in installs):
        problems.append(
            f"metadata.openclaw.install needs {{kind: 'uv', package: {COMMAND!r}}} so OpenClaw can "
            "install the command"
        )
    return problems


def linked_files(text: str) -> set[str]:
    """Relative paths SKILL.md links to (Markdown links), which must ship in the folder."""
    return {link.split("#", 1)[0] for link in _LOCAL_LINK.findall(text) if link.split("#", 1)[0]}


def build(out_root: Path, *, source: Path = ROOT) -> Path:
    """Write ``out_root/<name>/`` from scratch and return it; raises SkillError on a bad SKILL.md."""
    text = (source / "SKILL.md").read_text(encoding="utf-8")
    problems = frontmatter_problems(text)
    folder = out_root / parse_skill_md(text).name
    missing = sorted(link for link in linked_files(text) if not _ships(source, link))
    if missing:
        problems.append(f"SKILL.md links to files the skill folder would not contain: {missing}")
    if problems:
        raise SkillError("SKILL.md cannot be published:\n  " + "\n  ".join(problems))
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    shutil.copyfile(source / "SKILL.md", folder / "SKILL.md")
    shutil.copyfile(source / "LICENSE", folder / "LICENSE")
    if (source / "references").is_dir():
        shutil.copytree(
            source / "references", folder / "references", ignore=shutil.ignore_patterns(".*", "__pycache__")
        )
    return folder


def _ships(source: Path, link: str) -> bool:
    return (link == "LICENSE" or link.startswith("references/")) and (source / link).is_file()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--out", type=Path, default=ROOT / "dist" / "skill", help="parent folder (default: dist/skill)"
    )
    args = parser.parse_args(argv)
    try:
        folder = build(args.out)
    except SkillError as err:
        print(err, file=sys.stderr)
        return 1
    print(folder)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
