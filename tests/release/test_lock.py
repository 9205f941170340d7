"""requirements.lock: the MCPB bundle installs exactly what CI tested, every runtime dependency pinned."""

from __future__ import annotations

import json
from pathlib import Path

import checks

ROOT = Path(__file__).resolve().parents[2]


def test_every_runtime_dependency_is_pinned_with_hashes_within_its_range() -> None:
    assert checks.lock_problems(ROOT) == []


def test_the_bundle_installs_the_lock_and_not_a_fresh_resolution() -> None:
    args = json.loads((ROOT / "manifest.json").read_text())["server"]["mcp_config"]["args"]
    assert args[args.index("--with-requirements") + 1] == checks.LOCK_FILE and "--no-project" in args
    assert checks.LOCK_FILE in checks.BUNDLE_NEEDS


def test_a_stale_or_loose_lock_is_caught(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "x"\nversion = "1"\n'
        'dependencies = ["mcp>=2.3,<3", "anyio>=4.5,<5", "pillow>=11,<13"]\n'
    )
    (tmp_path / checks.LOCK_FILE).write_text("mcp==3.0.0 \\\n    --hash=sha256:00\npillow==12.1.0\n")
    assert checks.lock_problems(tmp_path) == [
        "mcp==3.0.0 in requirements.lock is outside <3,>=2.3",
        "anyio is not pinned in requirements.lock",
    ]
    (tmp_path / checks.LOCK_FILE).unlink()
    assert checks.lock_problems(tmp_path) == ["requirements.lock is missing: run scripts/release lock"]
