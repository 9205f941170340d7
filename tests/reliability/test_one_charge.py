"""One prompt, one charge, one answer: twin calls, overlapping generations, slow and silent backends,
bad local state and unusable output folders, tried as a host (and a second process) would."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest

from free_generation_image.config import Settings
from free_generation_image.errors import FGIError
from free_generation_image.nemo.errors import BackendUnavailable
from free_generation_image.outdir import OutputDirUnusable
from free_generation_image.projects import SavedProject
from free_generation_image.sandbox import Sandbox
from free_generation_image.service import Service
from tests.helpers import SPEEDUP, make_service, prompts_accepted, prompts_sent

pytestmark = pytest.mark.anyio


def media_prompts(state: dict[str, Any]) -> dict[str, str]:
    """url -> the prompt the sandbox made that media for."""
    return {str(m.get("url")): str(m.get("prompt")) for m in state.get("generated_media") or []}


# ------------------------------------------------------------------------------------- twin calls
async def test_twin_calls_in_one_process_make_one_job_and_send_one_prompt(
    service: Service, sandbox: Sandbox
) -> None:
    results: list[Any] = []

    async def call() -> None:
        results.append(await service.generate("an image of a lighthouse", wait_seconds=30))

    async with anyio.create_task_group() as tg:
        for _ in range(3):
            tg.start_soon(call)
    assert {r.job_id for r in results} == {results[0].job_id}
    assert sorted(r.deduplicated for r in results) == [False, True, True]
    assert all(r.status == "completed" for r in results)
    assert len(prompts_sent(sandbox)) == 1


async def test_twin_calls_through_two_services_on_one_config_dir_send_one_prompt(
    settings: Settings, sandbox: Sandbox
) -> None:
    # Two registries, two lock handles: the job log's OS lock is what makes them agree.
    sandbox.configure(generation_seconds=0.5)
    async with make_service(settings, speedup=SPEEDUP) as one, make_service(settings, speedup=SPEEDUP) as two:
        await one.credits()  # one token for both (shared config dir)
        results: list[Any] = []

        async def call(service: Service) -> None:
            results.append(await service.generate("an image of a red kite", wait_seconds=30))

        async with anyio.create_task_group() as tg:
            tg.start_soon(call, one)
            tg.start_soon(call, two)
    assert results[0].job_id == results[1].job_id
    assert len(prompts_sent(sandbox)) == 1


def _cli(settings: Settings, *args: str) -> subprocess.Popen[str]:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(sys.path),
        "NEMO_API_URL": settings.api_url,
        "NEMO_CONFIG_DIR": str(settings.config_dir),
        "NEMO_OUTPUT_DIR": str(settings.output_dir),
    }
    return subprocess.Popen(
        [sys.executable, "-m", "free_generation_image", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_twin_calls_in_two_processes_send_one_prompt(settings: Settings, sandbox: Sandbox) -> None:
    sandbox.configure(generation_seconds=0.5)
    children = [_cli(settings, "generate", "an image of a blue heron", "--json") for _ in range(2)]
    outputs = [child.communicate(timeout=60) for child in children]
    assert [c.returncode for c in children] == [0, 0], [err for _, err in outputs]
    jobs = {json.loads(out)["job_id"] for out, _ in outputs}
    assert len(jobs) == 1
    assert len(prompts_sent(sandbox)) == 1


# -------------------------------------------------------------------------- one turn per project
async def test_overlapping_generations_each_get_their_own_media_and_credits(
    service: Service, sandbox: Sandbox
) -> None:
    sandbox.configure(generation_seconds=0.8)
    snail = await service.generate("an image of a snail", wait_seconds=0)
    await anyio.sleep(0.1)
    crab = await service.generate("an image of a crab", wait_seconds=0.3)
    assert crab.status == "running" and crab.progress.startswith(f"queued behind {snail.job_id}")
    first = (await service.status(snail.job_id, wait_seconds=20)).generate
    second = (await service.status(crab.job_id, wait_seconds=20)).generate
    assert first is not None and second is not None
    assert (first.credits_spent, second.credits_spent) == (30, 30)
    assert len(first.media) == 1 and len(second.media) == 1
    assert first.project is not None
    made_for = media_prompts((await service.client.state(first.project.session_id)).raw)
    assert "snail" in made_for[first.media[0].url or ""] and "crab" in made_for[second.media[0].url or ""]
    assert len(prompts_accepted(sandbox)) == 2


async def test_overlapping_generations_from_two_services_take_turns(
    settings: Settings, sandbox: Sandbox
) -> None:
    sandbox.configure(generation_seconds=0.6)
    async with make_service(settings, speedup=SPEEDUP) as one, make_service(settings, speedup=SPEEDUP) as two:
        await one.credits()
        await one.generate("an image of a pebble", wait_seconds=30)  # the shared project exists
        results: dict[str, Any] = {}

        async def call(service: Service, prompt: str) -> None:
            results[prompt] = await service.generate(prompt, wait_seconds=30)

        async with anyio.create_task_group() as tg:
            tg.start_soon(call, one, "an image of an owl")
            tg.start_soon(call, two, "an image of a moth")
    owl, moth = results["an image of an owl"], results["an image of a moth"]
    assert (owl.credits_spent, moth.credits_spent) == (30, 30)
    assert len(owl.media) == 1 and len(moth.media) == 1 and owl.media[0].url != moth.media[0].url


async def test_a_server_and_a_cli_process_on_one_config_dir_take_turns(
    settings: Settings, sandbox: Sandbox
) -> None:
    sandbox.configure(generation_seconds=0.6)
    async with make_service(settings) as server:
        await server.generate("an image of a pebble", wait_seconds=30)  # the shared project exists
        cli = _cli(settings, "generate", "an image of a moth", "--json")
        owl = await server.generate("an image of an owl", wait_seconds=30)
        out, err = await anyio.to_thread.run_sync(lambda: cli.communicate(timeout=60))
    assert cli.returncode == 0, err
    moth = json.loads(out)
    assert (owl.credits_spent, moth["credits_spent"]) == (30, 30)
    assert len(owl.media) == 1 and len(moth["media"]) == 1
    assert owl.media[0].url != moth["media"][0]["url"]


# ------------------------------------------------------------------------------ bounded calls
@pytest.fixture
def silent_backend() -> Iterator[str]:
    """A backend that accepts connections and never answers a byte."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        listener.close()


async def test_a_silent_backend_never_holds_a_call_past_its_bound(
    silent_backend: str, tmp_path: Path
) -> None:
    settings = Settings.from_env(
        {}, api_url=silent_backend, config_dir=tmp_path / "cfg", output_dir=tmp_path / "out"
    )
    async with Service(settings, call_seconds=1.0, prepare_seconds=2.0) as service:
        now = time.time()
        service.projects.store.save(SavedProject("task_1", "sess_1", None, "en", now, link="x", link_at=now))
        for call in (service.credits, service.status):
            started = time.monotonic()
            with pytest.raises(BackendUnavailable, match="did not answer within 1 s"):
                await call()
            assert time.monotonic() - started < 2.0
        started = time.monotonic()
        running = await service.generate("an image of a quiet sea", wait_seconds=1)
        assert running.status == "running" and time.monotonic() - started < 2.0
        upload = await service.upload(["https://example.test/a.png"], wait_seconds=1)
        assert upload.status == "running" and time.monotonic() - started < 4.0
        # The job's own time is bounded too: it fails clearly, having sent nothing.
        done = await service.status(running.job_id, wait_seconds=10)
        assert done.error is not None and "nothing was sent" in done.error.lower()


async def test_rate_limited_before_anything_starts_returns_a_job_that_completes(
    settings: Settings, sandbox: Sandbox
) -> None:
    sandbox.configure(retry_after_seconds=3.0)
    async with make_service(
        settings, speedup=SPEEDUP, sleep=anyio.sleep
    ) as service:  # real Retry-After waits
        await service.credits()
        sandbox.inject("rate_limited", path="/api/state", times=1)
        started = time.monotonic()
        running = await service.generate("an image of a patient heron", wait_seconds=1)
        assert running.status == "running" and time.monotonic() - started < 2.0
        done = await service.status(running.job_id, wait_seconds=20)
    assert done.generate is not None and done.generate.status == "completed"
    assert len(prompts_sent(sandbox)) == 1


async def test_following_another_process_job_notices_its_end_within_a_second(
    settings: Settings, sandbox: Sandbox
) -> None:
    sandbox.configure(generation_seconds=0.6)
    async with (
        make_service(settings, speedup=SPEEDUP) as owner,
        make_service(settings, speedup=SPEEDUP) as follower,
    ):
        running = await owner.generate("an image of a comet", wait_seconds=0)
        watching = await follower.status(running.job_id, wait_seconds=20)
        ended = time.time()
        assert watching.generate is not None and watching.generate.status == "completed"
        record = owner.jobs.live(running.job_id)
        assert record is not None and ended - record.record.updated_at < 1.0


# ---------------------------------------------------------------------------------- local state
async def test_job_files_of_the_wrong_shape_are_set_aside_and_the_server_keeps_serving(
    service: Service, settings: Settings
) -> None:
    jobs = settings.config_dir / "jobs"
    jobs.mkdir(parents=True, exist_ok=True)
    base = {"kind": "generate", "status": "running", "updated_at": 1.0, "api_url": settings.api_url}
    bad = {
        "job_000000000001": {**base, "id": "job_000000000001", "created_at": "yesterday", "pid": 1},
        "job_000000000002": {**base, "id": "job_000000000002", "created_at": 1.0, "pid": "1"},
        "job_000000000003": {**base, "id": "job_000000000003", "created_at": 1.0, "pid": 1, "params": None},
    }
    for job_id, record in bad.items():
        (jobs / f"{job_id}.json").write_text(json.dumps(record))
    listing = await service.status()
    assert listing.jobs == []
    assert sorted(p.name for p in jobs.iterdir() if p.suffix == ".corrupt") == [
        f"{job_id}.json.corrupt" for job_id in sorted(bad)
    ]
    done = await service.generate("an image of a tidy desk", wait_seconds=30)
    assert done.status == "completed"


async def test_a_config_dir_that_is_a_file_is_a_clear_error(tmp_path: Path, sandbox: Sandbox) -> None:
    config = tmp_path / "cfg"
    config.write_text("not a folder")
    settings = Settings.from_env({}, api_url=sandbox.url, config_dir=config, output_dir=tmp_path / "out")
    async with make_service(settings, speedup=SPEEDUP) as service:
        with pytest.raises(FGIError) as info:
            await service.credits()
        assert info.value.message and info.value.hint
        assert str(config) in info.value.user_text() or "NEMO_CONFIG_DIR" in info.value.user_text()


@pytest.mark.parametrize("problem", ["a file", "unwritable"])
async def test_an_unusable_output_dir_is_refused_before_anything_is_sent(
    sandbox: Sandbox, tmp_path: Path, problem: str
) -> None:
    if problem == "a file":
        out = tmp_path / "out"
        out.write_text("")
    else:
        out = Path("/proc/fgi-no-such-dir")  # not creatable, even for root
    settings = Settings.from_env({}, api_url=sandbox.url, config_dir=tmp_path / "cfg", output_dir=out)
    async with make_service(settings, speedup=SPEEDUP) as service:
        with pytest.raises(OutputDirUnusable, match="nothing was sent") as info:
            await service.generate("an image of a paid-for nothing", wait_seconds=30)
        assert "NEMO_OUTPUT_DIR" in info.value.hint
    assert prompts_sent(sandbox) == []


async def test_partial_downloads_left_by_a_crash_are_removed_at_start(settings: Settings) -> None:
    out = settings.output_dir
    out.mkdir(parents=True)
    old, fresh, theirs = out / ".fgi-crash.part", out / ".fgi-live.part", out / ".other.part"
    for path in (old, fresh, theirs):
        path.write_bytes(b"x")
    past = time.time() - 3600
    os.utime(old, (past, past))
    os.utime(theirs, (past, past))
    async with make_service(settings, speedup=SPEEDUP):
        with anyio.fail_after(5):
            while old.exists():  # noqa: ASYNC110 - housekeeping runs in a worker thread
                await anyio.sleep(0.02)
    assert fresh.exists() and theirs.exists()  # only ours, only old ones


# --------------------------------------------------------------------------------- lost project
async def test_a_lost_project_is_replaced_once_for_concurrent_callers(
    service: Service, sandbox: Sandbox, tmp_path: Path
) -> None:
    await service.generate("an image of a first light", wait_seconds=30)
    saved = await service.projects.load()
    assert saved is not None
    sandbox.inject("session_lost", path="/api/upload-video", times=1)
    files = []
    for i in range(3):
        path = tmp_path / f"ref{i}.png"
        path.write_bytes(_png())
        files.append(path)
    results: list[Any] = []

    async def upload(path: Path) -> None:
        results.append(await service.upload([str(path)], wait_seconds=30))

    async with anyio.create_task_group() as tg:
        for path in files:
            tg.start_soon(upload, path)
    sessions = {r.project.session_id for r in results if r.project}
    assert len(sessions) == 1 and saved.session_id not in sessions
    created = [e for e in sandbox.journal("/api/tasks/") if e.kind == "request" and e.method == "POST"]
    assert len([e for e in created if e.status == 200]) == 2  # the first project and one replacement


def _png() -> bytes:
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), "teal").save(buffer, "PNG")
    return buffer.getvalue()
