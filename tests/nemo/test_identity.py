"""X-Skill-Source / -Version / -Platform (pure table tests)."""

from __future__ import annotations

import pytest

from free_generation_image.nemo import identity
from free_generation_image.skillmeta import SKILL


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/home/ann/.clawhub/skills/free-generation-image/server", "clawhub"),
        ("/home/ann/work/skills/free-generation-image/", "clawhub"),  # `clawhub install` into ./skills/<slug>
        ("/Users/ann/.cursor/skills/free-generation-image", "cursor"),
        ("/home/ann/.claude/skills/free-generation-image", "claude-code"),
        ("/home/ann/.openclaw/workspace/skills/free-generation-image", "openclaw"),
        ("/home/ann/.openclaw/workspace/skills/x/.clawhub/origin.json", "clawhub"),  # clawhub marker first
        ("C:\\Users\\Ann\\.cursor\\skills\\fgi\\server", "cursor"),
        ("/Users/ann/Library/Application Support/Claude/Claude Extensions/fgi/server", "claude-desktop"),
        (
            "/home/ann/.local/share/uv/tools/free-generation-image/lib/site-packages/free_generation_image",
            None,
        ),
        ("/work/main/server/free_generation_image", None),
        ("/home/ann/.clawhubx/tool", None),  # a near miss is not a match
        (None, None),
    ],
)
def test_platform_from_path(path: str | None, expected: str | None) -> None:
    assert identity.platform_from_path(path) == expected


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Claude Desktop", "claude-desktop"),
        ("claude-ai", "claude-desktop"),
        ("claude-code", "claude-code"),
        ("cursor-vscode", "cursor"),
        ("Cursor", "cursor"),
        ("Visual Studio Code", "visual-studio-code"),
        ("  Zed  Editor ", "zed-editor"),
        ("MCP Inspector/1.0 (beta)", "mcp-inspector-1.0-beta"),
        ("日本語", None),  # nothing usable left after slugging
        ("", None),
        (None, None),
    ],
)
def test_platform_from_client(name: str | None, expected: str | None) -> None:
    assert identity.platform_from_client(name) == expected


@pytest.mark.parametrize(
    ("source", "path", "client", "expected"),
    [
        ("clawhub", "/home/a/.cursor/skills/x", "Claude Desktop", "clawhub"),  # the setting wins
        (" My Platform\r\n", None, None, "my-platform"),  # sanitised: never a header injection
        (None, "/home/a/.cursor/skills/x", "Claude Desktop", "cursor"),  # then the path
        (None, "/opt/fgi", "Claude Desktop", "claude-desktop"),  # then the client name
        (None, "/opt/fgi", None, "unknown"),
        ("", None, "", "unknown"),
    ],
)
def test_platform_precedence(source: str | None, path: str | None, client: str | None, expected: str) -> None:
    assert identity.skill_platform(skill_source=source, install_path=path, client_name=client) == expected


def test_headers_name_this_skill() -> None:
    headers = identity.attribution_headers(
        skill_source=None, client_name="cursor-vscode", install_path="/opt/x"
    )
    assert headers == {
        "X-Skill-Source": SKILL.name,
        "X-Skill-Version": SKILL.version,
        "X-Skill-Platform": "cursor",
        "User-Agent": f"{SKILL.name}/{SKILL.version}",
    }
    assert SKILL.name == "free-generation-image"


def test_slug_is_bounded() -> None:
    assert len(identity.slug("x" * 500)) == identity.MAX_SLUG
