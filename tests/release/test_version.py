"""One version, in one place: SKILL.md's metadata.version, and every copy agrees with it."""

from __future__ import annotations

import importlib.metadata
import json
from pathlib import Path

import versions

import free_generation_image
from free_generation_image.nemo.identity import attribution_headers
from free_generation_image.skillmeta import parse_skill_md

ROOT = Path(__file__).resolve().parents[2]


def skill_version() -> str:
    return versions.skill_version(
        (ROOT / "SKILL.md").read_text(encoding="utf-8"), versions.skill_pattern(ROOT)
    )


def test_every_copy_in_the_checkout_agrees_with_skill_md() -> None:
    agreement = versions.check(ROOT)
    assert agreement.problems == [], "run: scripts/release bump X.Y.Z (it updates every copy)"
    found = versions.read_all(ROOT)
    assert set(found) >= {
        "SKILL.md metadata.version",
        "manifest.json version",
        "server.json version",
        "server.json packages[0] (pypi) version",
        "CHANGELOG.md newest entry",
    }
    assert set(found.values()) == {skill_version()}


def test_hatch_and_skillmeta_read_the_same_version() -> None:
    # The wheel's version comes from hatch's regex, __version__ and X-Skill-Version from skillmeta's parser:
    # two readers of one field, which must never drift apart.
    text = (ROOT / "SKILL.md").read_text(encoding="utf-8")
    assert parse_skill_md(text).version == skill_version()
    versions.semver_key(skill_version())  # clawhub insists on X.Y.Z


def test_runtime_reports_the_skill_md_version() -> None:
    version = skill_version()
    assert free_generation_image.__version__ == version
    headers = attribution_headers(skill_source=None, client_name=None)
    assert headers["X-Skill-Version"] == version
    assert headers["User-Agent"].endswith(f"/{version}")


def test_installed_distribution_metadata_matches() -> None:
    # An editable install freezes its metadata at install time: after a bump, reinstall (pip install -e .).
    assert importlib.metadata.version("free-generation-image") == skill_version()


def test_manifest_and_server_json_are_kept_in_canonical_layout() -> None:
    # bump re-serializes them; a hand-formatted file would turn a one-line bump into a noisy diff.
    for name in ("manifest.json", "server.json"):
        text = (ROOT / name).read_text(encoding="utf-8")
        assert versions.dump_json(json.loads(text)) == text, f"{name}: 2-space indent, UTF-8, final newline"
