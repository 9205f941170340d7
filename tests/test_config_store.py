"""Settings precedence and the private config-dir store."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from free_generation_image.config import DEFAULT_API_URL, Settings
from free_generation_image.errors import InvalidInput
from free_generation_image.locks import SharedLock
from free_generation_image.skillmeta import SKILL, parse_skill_md
from free_generation_image.store import Store


def test_defaults_and_env_and_overrides(tmp_path: Path) -> None:
    s = Settings.from_env({})
    assert s.api_url == DEFAULT_API_URL and s.token is None
    assert s.config_dir.name == "free-generation-image"
    assert s.output_dir.name == "free-generation-image"
    env = {
        "NEMO_API_URL": "http://127.0.0.1:9/",
        "NEMO_TOKEN": "nmv_usr_secret",
        "NEMO_CONFIG_DIR": str(tmp_path),
    }
    s = Settings.from_env(env)
    assert s.api_url == "http://127.0.0.1:9" and s.token == "nmv_usr_secret" and s.config_dir == tmp_path
    assert "nmv_usr_secret" not in repr(s)
    s = Settings.from_env(env, api_url="http://localhost:1", output_dir=str(tmp_path / "out"))
    assert s.api_url == "http://localhost:1" and s.output_dir == tmp_path / "out"


@pytest.mark.parametrize("value", ["", "   ", "${user_config.nemo_token}"])
def test_empty_or_unsubstituted_values_mean_unset(value: str) -> None:
    assert Settings.from_env({"NEMO_TOKEN": value}).token is None


def test_bad_url_names_the_variable() -> None:
    with pytest.raises(InvalidInput, match="NEMO_API_URL"):
        Settings.from_env({"NEMO_API_URL": "file:///etc/passwd"})


def test_store_is_private_atomic_and_survives_corruption(tmp_path: Path) -> None:
    store = Store(tmp_path / "cfg")
    store.write_json("token.json", {"a": 1})
    assert store.read_json("token.json") == {"a": 1}
    assert stat.S_IMODE(os.stat(store.root).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(store.path("token.json")).st_mode) == 0o600
    store.path("token.json").write_text('{"a": ')  # truncated by a crash elsewhere
    assert store.read_json("token.json") is None
    store.write_json("token.json", {"b": 2})
    assert json.loads(store.path("token.json").read_text()) == {"b": 2}
    assert not [p for p in store.root.iterdir() if p.name.endswith(".tmp")]


def test_skill_metadata_is_parsed_from_our_skill_md() -> None:
    assert SKILL.name == "free-generation-image"
    assert SKILL.version.count(".") == 2
    assert "generate" in SKILL.section("How to use the tools")
    meta = parse_skill_md('---\nname: x\nmetadata: {"version": "1.2.3"}\n---\n## A\none\n## B\ntwo\n')
    assert (meta.version, meta.section("b")) == ("1.2.3", "two")


@pytest.mark.anyio
async def test_lock_serialises_holders_and_survives_a_stale_lock(tmp_path: Path) -> None:
    """The token lock (an OS file lock): holders take turns; a lock file left by a crash blocks no one."""
    import anyio

    path = tmp_path / "cfg" / ".token.lock"
    order: list[str] = []

    async def hold(name: str) -> None:
        async with SharedLock(path).hold():  # one lock object each, as two processes would have
            order.append(f"{name}+")
            await anyio.sleep(0.1)
            order.append(f"{name}-")

    async with anyio.create_task_group() as tg:
        tg.start_soon(hold, "a")
        await anyio.sleep(0.02)
        tg.start_soon(hold, "b")
    assert order == ["a+", "a-", "b+", "b-"]

    path.write_text("12345")
    os.utime(path, (0, 0))  # left by a process that crashed long ago
    with anyio.fail_after(2):
        async with SharedLock(path).hold() as held:
            assert held
