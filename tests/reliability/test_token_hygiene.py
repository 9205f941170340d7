"""Token hygiene: run real flows with a token the sandbox accepts, then look for its value everywhere a
person or another program could see it: results, errors and tracebacks, logs at DEBUG, `--debug`
output, the config dir and the output dir. Also the cache files' modes and their corruption."""

from __future__ import annotations

import functools
import json
import logging
import os
import stat
import subprocess
import sys
import traceback
from pathlib import Path
from typing import Any

import pytest
from mcp import Client
from mcp.shared.exceptions import MCPError
from mcp.types import TextContent
from PIL import Image

from free_generation_image.config import Settings
from free_generation_image.errors import FGIError
from free_generation_image.mcp_server import build_server
from free_generation_image.sandbox import Sandbox
from free_generation_image.service import Service
from tests.helpers import SPEEDUP, dir_texts, files_under, make_service, occurrences

pytestmark = pytest.mark.anyio


class Seen:
    """Everything a flow showed: results, errors (message, hint, repr, traceback), by name."""

    def __init__(self) -> None:
        self.texts: list[tuple[str, str]] = []

    def result(self, name: str, value: Any) -> None:
        text = value.text() if hasattr(value, "text") else ""
        self.texts.append((name, text + value.model_dump_json()))

    def error(self, name: str, err: BaseException) -> None:
        detail = err.user_text() if isinstance(err, FGIError) else ""
        trace = "".join(traceback.format_exception(err))
        self.texts.append((f"{name} error", f"{err}\n{detail}\n{err!r}\n{trace}"))


async def run_flows(service: Service, sandbox: Sandbox, picture: Path, seen: Seen) -> None:
    """Every operation once, then the failures that carry the most context."""
    seen.result("credits", await service.credits())
    seen.result("generate", await service.generate("an image of a brass key", kind="image", wait_seconds=20))
    seen.result("upload", await service.upload([str(picture), "https://example.com/clip.mp4"]))
    seen.result("status", await service.status())
    exported = await service.export("png", wait_seconds=20)
    seen.result("export", exported)
    seen.result("status job", await service.status(exported.job_id))
    seen.result("chat", await service.chat("how many credits do I have?"))
    sandbox.configure(render_seconds=30)
    seen.result("generate video", await service.generate("a video of a key", kind="video", wait_seconds=20))
    running = await service.export("mp4", wait_seconds=0)
    seen.result("cancel", await service.cancel(running.job_id))
    for fault, path in (
        ("server_error", "/api/credits"),
        ("malformed_json", "/api/state"),
        ("session_lost", None),
    ):
        sandbox.inject(fault, path=path)
        try:
            seen.result(fault, await service.status() if path == "/api/state" else await service.credits())
        except FGIError as err:
            seen.error(fault, err)
    sandbox.inject("token_expired")
    try:
        await service.upload(["https://example.com/more.png"])
    except FGIError as err:
        seen.error("token refused", err)


@pytest.fixture
def picture(tmp_path: Path) -> Path:
    path = tmp_path / "ref.png"
    Image.new("RGB", (32, 24), "teal").save(path)
    return path


@pytest.fixture
def debug_logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.DEBUG)  # every logger, the HTTP stack's included
    return caplog


def log_texts(caplog: pytest.LogCaptureFixture) -> list[tuple[str, str]]:
    return [("caplog", caplog.text)] + [(f"log args {r.name}", repr(r.args)) for r in caplog.records]


def assert_private(config_dir: Path) -> None:
    """A 0700 dir of 0600 files (subdirs 0700), nothing else."""
    assert stat.S_IMODE(config_dir.stat().st_mode) == 0o700
    for path in config_dir.rglob("*"):
        mode = stat.S_IMODE(path.stat().st_mode)
        assert mode == (0o700 if path.is_dir() else 0o600), (path, oct(mode))


async def test_nemo_token_never_shows_and_is_never_written(
    settings: Settings, sandbox: Sandbox, picture: Path, debug_logs: pytest.LogCaptureFixture
) -> None:
    user = sandbox.new_user(credits=5000, anonymous=False)
    seen = Seen()
    async with make_service(
        Settings.from_env({"NEMO_TOKEN": user.token}, **vars_of(settings)), speedup=SPEEDUP
    ) as service:
        await run_flows(service, sandbox, picture, seen)
    assert [name for name, _ in seen.texts if name.endswith("error")]  # the failures really happened
    everything = seen.texts + log_texts(debug_logs) + dir_texts(settings.config_dir, settings.output_dir)
    assert occurrences(user.token, everything) == []
    assert not (settings.config_dir / "token.json").exists()
    assert [p.name for p in files_under(settings.output_dir) if p.suffix == ".json"]  # sidecars were scanned
    assert_private(settings.config_dir)


async def test_an_anonymous_token_lives_only_in_the_private_token_cache(
    settings: Settings, sandbox: Sandbox, picture: Path, debug_logs: pytest.LogCaptureFixture
) -> None:
    seen = Seen()
    tokens: list[str] = []
    sandbox.configure(starting_credits=5000)
    async with make_service(settings, speedup=SPEEDUP) as service:
        await service.credits()
        tokens.append(cached_token(settings))
        await run_flows(service, sandbox, picture, seen)
        tokens.append(cached_token(settings))  # token_expired made it fetch a second one
    assert tokens[0] != tokens[1]
    cache = settings.config_dir / "token.json"
    everything = (
        seen.texts
        + log_texts(debug_logs)
        + [
            (name, text)
            for name, text in dir_texts(settings.config_dir, settings.output_dir)
            if name != str(cache)
        ]
    )
    for token in tokens:
        assert occurrences(token, everything) == []
    assert {p.name for p in settings.config_dir.iterdir()} >= {
        "client_id",
        "token.json",
        "project.json",
        "jobs",
    }
    # The client id identifies the installation to the token endpoint, and to nothing else.
    assert {e.path for e in sandbox.requests() if "x-client-id" in e.headers} == {"/api/auth/anonymous-token"}
    assert_private(settings.config_dir)


def cached_token(settings: Settings) -> str:
    entry = json.loads((settings.config_dir / "token.json").read_text())[settings.api_url]
    token: str = entry["token"]
    return token


def vars_of(settings: Settings) -> dict[str, Any]:
    return {"api_url": settings.api_url, "config_dir": settings.config_dir, "output_dir": settings.output_dir}


async def test_mcp_results_never_carry_the_token(
    settings: Settings, sandbox: Sandbox, picture: Path, debug_logs: pytest.LogCaptureFixture
) -> None:
    user = sandbox.new_user(credits=5000, anonymous=False)
    env_settings = Settings.from_env({"NEMO_TOKEN": user.token}, **vars_of(settings))
    server = build_server(env_settings, service_factory=functools.partial(make_service, speedup=SPEEDUP))
    texts: list[tuple[str, str]] = []
    calls: list[tuple[str, dict[str, Any]]] = [
        ("credits", {}),
        ("generate", {"prompt": "an image of a brass key", "kind": "image"}),
        ("upload", {"source": [str(picture), "https://example.com/a.mp4"]}),
        ("status", {}),
        ("export", {"format": "png"}),
        ("chat", {"message": "status"}),
        ("cancel", {"job_id": "job_000000000000"}),
        ("upload", {"source": "file:///etc/passwd"}),
    ]
    async with Client(server, mode="legacy") as client:
        for name, arguments in calls:
            result = await client.call_tool(name, arguments)
            texts.append((name, json.dumps(result.model_dump(mode="json"))))
        sandbox.inject("token_expired")
        refused = await client.call_tool("credits", {})
        assert refused.is_error
        texts.append(("refused", "".join(b.text for b in refused.content if isinstance(b, TextContent))))
    assert occurrences(user.token, texts + log_texts(debug_logs)) == []


def test_debug_output_of_the_command_never_carries_the_token(sandbox: Sandbox, tmp_path: Path) -> None:
    user = sandbox.new_user(credits=5000, anonymous=False)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NEMO_", "SKILL_"))}
    env.update(
        NEMO_TOKEN=user.token,
        NEMO_API_URL=sandbox.url,
        NEMO_CONFIG_DIR=str(tmp_path / "config"),
        NEMO_OUTPUT_DIR=str(tmp_path / "out"),
    )

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "free_generation_image", "--debug", *args]
        return subprocess.run(
            command,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            stdin=subprocess.DEVNULL,
            check=False,
        )

    generated = run("generate", "an image of a brass key", "--kind", "image", "--json")
    assert generated.returncode == 0, generated.stderr
    assert " DEBUG free_generation_image." in generated.stderr  # debug output really was on
    exported = run("export", "--format", "png")
    assert exported.returncode == 0, exported.stderr
    sandbox.inject("token_expired")
    refused = run("credits")
    assert refused.returncode == 4 and "Unset NEMO_TOKEN" in refused.stderr
    outputs = [
        (f"{name} {stream}", getattr(done, stream))
        for name, done in (("generate", generated), ("export", exported), ("credits", refused))
        for stream in ("stdout", "stderr")
    ]
    assert occurrences(user.token, outputs + dir_texts(tmp_path / "config", tmp_path / "out")) == []


async def test_nemo_token_wins_over_a_cached_token_and_leaves_the_cache_alone(
    settings: Settings, sandbox: Sandbox
) -> None:
    async with make_service(settings, speedup=SPEEDUP) as anonymous:
        assert (await anonymous.credits()).available == 100
    cache = settings.config_dir / "token.json"
    before = cache.read_bytes()
    user = sandbox.new_user(credits=777, anonymous=False)
    sandbox.clear_journal()
    async with make_service(
        Settings.from_env({"NEMO_TOKEN": user.token}, **vars_of(settings)), speedup=SPEEDUP
    ) as service:
        info = await service.credits()
        await service.generate("an image of a brass key", kind="image", wait_seconds=20)
    assert (info.available, info.anonymous) == (777, False)
    assert sandbox.requests("/api/auth/anonymous-token") == []
    assert cache.read_bytes() == before
    assert occurrences(user.token, dir_texts(settings.config_dir, settings.output_dir)) == []


CORRUPTIONS: dict[str, bytes] = {
    "truncated": b'{"http://x": {"token": "nmv_usr_abc',
    "binary": bytes(range(256)),
    "wrong shape": b'["not", "an", "object"]',
    "empty": b"",
}


CACHE_FILES = ("token.json", "project.json", "client_id", "jobs/job_0123456789ab.json")


@pytest.mark.parametrize("corruption", CORRUPTIONS)
async def test_corrupt_or_truncated_cache_files_are_replaced_not_fatal(
    settings: Settings, sandbox: Sandbox, corruption: str
) -> None:
    settings.config_dir.mkdir(mode=0o700)
    (settings.config_dir / "jobs").mkdir(mode=0o700)
    for name in CACHE_FILES:  # our own files (0600), cut short or scrambled by a crash or a bad disk
        path = settings.config_dir / name
        path.write_bytes(CORRUPTIONS[corruption])
        path.chmod(0o600)
    async with make_service(settings, speedup=SPEEDUP) as service:
        assert (await service.credits()).available == 100
        result = await service.generate("an image of a brass key", kind="image", wait_seconds=20)
        assert result.status == "completed"
        listing = await service.status()
        assert [job.job_id for job in listing.jobs] == [result.job_id]
    for state in ("token.json", "project.json"):
        assert isinstance(json.loads((settings.config_dir / state).read_text()), dict)
    assert len((settings.config_dir / "client_id").read_text().strip()) == 36
    if corruption != "wrong shape":  # unreadable JSON is kept aside, not lost
        for name in (n for n in CACHE_FILES if n.endswith(".json")):
            kept = settings.config_dir / f"{name}.corrupt"
            assert kept.read_bytes() == CORRUPTIONS[corruption], name
    assert_private(settings.config_dir)


ESCAPES = [
    "fgi://output/../config/token.json",
    "fgi://output/..%2Fconfig%2Ftoken.json",
    "fgi://output/%2E%2E%2Fconfig%2Ftoken.json",
    "fgi://output/..%5Cconfig%5Ctoken.json",
    "fgi://output/%2Fetc%2Fhostname.json",
    "fgi://output/token.json",
]


async def test_output_resources_never_reach_the_token_cache(settings: Settings, sandbox: Sandbox) -> None:
    server = build_server(settings, service_factory=functools.partial(make_service, speedup=SPEEDUP))
    shown: list[tuple[str, str]] = []
    async with Client(server, mode="auto") as client:
        assert not (await client.call_tool("credits", {})).is_error  # token.json now exists beside out/
        for uri in ESCAPES:
            try:
                read = await client.read_resource(uri)
            except MCPError as err:  # refused: an MCP error is what a host sees
                shown.append((uri, str(err)))
            else:
                shown.append((uri, read.model_dump_json()))
    assert occurrences(cached_token(settings), shown) == []
