"""scripts/build_skill_folder.py: the clawhub / Agent Skills folder and the frontmatter OpenClaw needs."""

from __future__ import annotations

import subprocess
from pathlib import Path

import build_skill_folder
import pytest

ROOT = Path(__file__).resolve().parents[2]
SKILL = (ROOT / "SKILL.md").read_text(encoding="utf-8")


def test_folder_holds_only_what_an_agent_reads(tmp_path: Path) -> None:
    folder = build_skill_folder.build(tmp_path)
    assert folder == tmp_path / "free-generation-image"  # the name in the frontmatter: skills-ref insists
    shipped = {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}
    expected = {"SKILL.md", "LICENSE"}
    if (ROOT / "references").is_dir():
        expected |= {
            f"references/{p.relative_to(ROOT / 'references').as_posix()}"
            for p in (ROOT / "references").rglob("*")
            if p.is_file() and not p.name.startswith(".")
        }
    assert shipped == expected
    assert (folder / "SKILL.md").read_text(encoding="utf-8") == SKILL


def test_rebuilding_replaces_stale_files(tmp_path: Path) -> None:
    folder = build_skill_folder.build(tmp_path)
    (folder / "stale.md").write_text("left over from an older build", encoding="utf-8")
    build_skill_folder.build(tmp_path)
    assert not (folder / "stale.md").exists()


def test_real_frontmatter_tells_openclaw_how_to_install_the_command() -> None:
    assert build_skill_folder.frontmatter_problems(SKILL) == []


def _edit(old: str, new: str) -> str:
    assert old in SKILL, f"SKILL.md changed: update this test's fixture text {old!r}"
    return SKILL.replace(old, new, 1)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (_edit('"bins": ["free-generation-image"]}', '"bins": []}'), "requires.bins"),
        (_edit('"kind": "uv"', '"kind": "pip"'), "is not one of"),
        (_edit('"package": "free-generation-image"', '"package": "something-else"'), "kind: 'uv'"),
        (_edit("name: free-generation-image", "name: Free_Generation_Image"), "lowercase"),
        (_edit("license: MIT", "license: MIT\nversion: 0.1.0"), "top-level 'version:'"),
    ],
)
def test_frontmatter_mistakes_are_named(text: str, expected: str) -> None:
    problems = build_skill_folder.frontmatter_problems(text)
    assert any(expected in p for p in problems), problems


def test_a_link_to_a_file_the_folder_lacks_is_refused(tmp_path: Path) -> None:
    (tmp_path / "SKILL.md").write_text(
        SKILL + "\nDetails: [formats](references/formats.md)\n", encoding="utf-8"
    )
    (tmp_path / "LICENSE").write_text("MIT", encoding="utf-8")
    with pytest.raises(build_skill_folder.SkillError, match=r"references/formats\.md"):
        build_skill_folder.build(tmp_path / "out", source=tmp_path)
    (tmp_path / "references").mkdir()
    (tmp_path / "references" / "formats.md").write_text("# Formats\n", encoding="utf-8")
    folder = build_skill_folder.build(tmp_path / "out", source=tmp_path)
    assert (folder / "references" / "formats.md").is_file()


def test_skills_ref_accepts_the_folder(tmp_path: Path, skills_ref: Path) -> None:
    folder = build_skill_folder.build(tmp_path)
    done = subprocess.run(
        [str(skills_ref), "validate", str(folder)], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
