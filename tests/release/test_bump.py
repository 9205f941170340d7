"""scripts/release bump: every version copy moves together, or none does."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
import versions

from free_generation_image.skillmeta import parse_skill_md

ROOT = Path(__file__).resolve().parents[2]
FILES = ("SKILL.md", "manifest.json", "server.json", "CHANGELOG.md", "pyproject.toml")
DAY = date(2027, 3, 4)


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    """A copy of the real version-carrying files, with something to release under [Unreleased]."""
    for name in FILES:
        shutil.copyfile(ROOT / name, tmp_path / name)
    changelog = tmp_path / "CHANGELOG.md"
    text = changelog.read_text(encoding="utf-8")
    # Whatever the real [Unreleased] holds today, the copy holds exactly one known note.
    start = text.index("## [Unreleased]\n")
    end = text.index("\n## [", start + 1) + 1
    changelog.write_text(
        text[:start] + "## [Unreleased]\n\n### Fixed\n\n- A thing.\n\n" + text[end:], encoding="utf-8"
    )
    return tmp_path


def snapshot(root: Path) -> dict[str, str]:
    return {name: (root / name).read_text(encoding="utf-8") for name in FILES}


def next_minor(root: Path) -> str:
    major, minor, _ = versions.semver_key(versions.check(root).version)
    return f"{major}.{minor + 1}.0"


def test_bump_moves_every_copy_and_nothing_else(checkout: Path) -> None:
    before = snapshot(checkout)
    old, new = versions.check(checkout).version, next_minor(checkout)
    changed = versions.bump(checkout, new, DAY)

    assert {p.name for p in changed} == {"SKILL.md", "manifest.json", "server.json", "CHANGELOG.md"}
    after = versions.check(checkout)
    assert (after.version, after.problems) == (new, [])
    assert set(versions.read_all(checkout).values()) == {new}
    # The runtime reader sees what hatch sees.
    assert parse_skill_md((checkout / "SKILL.md").read_text(encoding="utf-8")).version == new
    # Only version lines changed in the three version-carrying files.
    for name in ("SKILL.md", "manifest.json", "server.json"):
        old_lines, new_lines = (
            before[name].splitlines(),
            (checkout / name).read_text(encoding="utf-8").splitlines(),
        )
        assert len(old_lines) == len(new_lines)
        diff = [(a, b) for a, b in zip(old_lines, new_lines, strict=True) if a != b]
        assert diff, name
        assert all(a.replace(old, new) == b for a, b in diff), name
    assert (checkout / "pyproject.toml").read_text(encoding="utf-8") == before["pyproject.toml"]


def test_bump_releases_the_unreleased_notes(checkout: Path) -> None:
    old, new = versions.check(checkout).version, next_minor(checkout)
    versions.bump(checkout, new, DAY)
    text = (checkout / "CHANGELOG.md").read_text(encoding="utf-8")

    headings = [line for line in text.splitlines() if line.startswith("## [")]
    assert headings[:3] == [
        "## [Unreleased]",
        f"## [{new}] - 2027-03-04",
        f"## [{old}] - " + headings[2][-10:],
    ]
    assert versions.release_notes(text, new) == "### Fixed\n\n- A thing."
    assert versions.changelog_version(text) == new
    assert (
        f"[Unreleased]: https://github.com/free-generation-image/free-generation-image/compare/v{new}...HEAD"
        in text
    )
    assert (
        f"[{new}]: https://github.com/free-generation-image/free-generation-image/compare/v{old}...v{new}"
        in text
    )
    # The fresh [Unreleased] is empty: the next bump must be refused until someone writes notes.
    with pytest.raises(versions.VersionError, match="nothing under"):
        versions.bump(checkout, "99.0.0", DAY)


@pytest.mark.parametrize(
    ("new", "reason"),
    [
        ("0.0.1", "not greater"),
        ("CURRENT", "not greater"),
        ("1.2", "not a plain"),
        ("1.2.3-rc.1", "not a plain"),
        ("v1.2.3", "not a plain"),
        ("01.2.3", "not a plain"),
    ],
)
def test_bump_refuses_bad_versions_and_leaves_files_untouched(checkout: Path, new: str, reason: str) -> None:
    before = snapshot(checkout)
    if new == "CURRENT":
        new = versions.check(checkout).version
    with pytest.raises(versions.VersionError, match=reason):
        versions.bump(checkout, new, DAY)
    assert snapshot(checkout) == before


def test_bump_refuses_an_empty_unreleased_section_before_writing_anything(checkout: Path) -> None:
    current = versions.check(checkout).version
    (checkout / "CHANGELOG.md").write_text(
        f"## [Unreleased]\n\n## [{current}] - 2020-01-01\n\n- x\n", encoding="utf-8"
    )
    before = snapshot(checkout)
    with pytest.raises(versions.VersionError, match="nothing under"):
        versions.bump(checkout, next_minor(checkout), DAY)
    assert snapshot(checkout) == before


def test_changelog_without_link_references() -> None:
    text = "# Changelog\n\n## [Unreleased]\n\n- new\n\n## [1.0.0] - 2020-01-01\n\n- old\n"
    bumped = versions.bump_changelog(text, "1.1.0", DAY)
    assert bumped == (
        "# Changelog\n\n## [Unreleased]\n\n## [1.1.0] - 2027-03-04\n\n- new\n\n"
        "## [1.0.0] - 2020-01-01\n\n- old\n"
    )


def test_a_disagreeing_copy_is_named(checkout: Path) -> None:
    manifest = json.loads((checkout / "manifest.json").read_text(encoding="utf-8"))
    manifest["version"] = "9.9.9"
    (checkout / "manifest.json").write_text(versions.dump_json(manifest), encoding="utf-8")
    problems = versions.check(checkout).problems
    assert problems == [f"manifest.json version: '9.9.9' (expected {versions.check(checkout).version!r})"]


def test_release_script_lists_the_copies() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "release"), "versions"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "manifest.json version" in done.stdout
    assert "CHANGELOG.md newest entry" in done.stdout


def test_release_script_refuses_a_downgrade_without_touching_the_checkout() -> None:
    before = snapshot(ROOT)
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "release"), "bump", "0.0.1"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    assert "not greater" in done.stderr
    assert snapshot(ROOT) == before
