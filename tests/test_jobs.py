"""The job registry: persistence, dedupe, orphans, waiting with progress."""

from __future__ import annotations

import json
import os
from pathlib import Path

import anyio
import pytest

from free_generation_image.errors import NotFound
from free_generation_image.jobs import JobRegistry, Progress
from free_generation_image.store import Store

pytestmark = pytest.mark.anyio


def registry(tmp_path: Path, api: str = "http://a") -> JobRegistry:
    return JobRegistry(Store(tmp_path / "cfg"), api)


async def test_jobs_are_persisted_one_file_each_and_listed_newest_first(tmp_path: Path) -> None:
    jobs = registry(tmp_path)
    first = jobs.create("generate", session_id="1", params={"prompt": "a"})
    second = jobs.create("export", session_id="1", params={"fmt": "mp4"})
    second.record.created_at += 1
    second.save()
    jobs.log.flush()  # saves are written by the writer thread: wait for it before listing the folder
    files = sorted(p.name for p in (tmp_path / "cfg" / "jobs").iterdir())
    assert files == sorted([f"{first.id}.json", f"{second.id}.json"])
    assert [r.id for r in jobs.records()] == [second.id, first.id]
    assert json.loads((tmp_path / "cfg" / "jobs" / f"{first.id}.json").read_text())["status"] == "running"
    assert registry(tmp_path, "http://other").records() == []


async def test_duplicate_window_and_statuses(tmp_path: Path) -> None:
    jobs = registry(tmp_path)
    job = jobs.create("generate", session_id="1", dedupe_key="k")
    assert jobs.find_duplicate("k", 600) is job
    job.finish("succeeded", result={"ok": True})
    assert jobs.find_duplicate("k", 600) is job
    assert jobs.find_duplicate("k", 0) is None
    failed = jobs.create("generate", session_id="1", dedupe_key="f")
    failed.finish("failed", error={"message": "x"})
    assert jobs.find_duplicate("f", 600) is None


async def test_jobs_of_a_closed_registry_become_orphans(tmp_path: Path) -> None:
    old = registry(tmp_path)
    job = old.create("export", session_id="1")
    assert list(registry(tmp_path).orphans()) == []  # its owner is alive: not ours to adopt
    old.close()
    new = registry(tmp_path)
    orphans = list(new.orphans())
    assert [r.id for r in orphans] == [job.id]
    adopted = new.adopt(orphans[0])
    assert adopted.record.pid == os.getpid() and list(new.orphans()) == []


async def test_unknown_or_malicious_ids_are_not_found(tmp_path: Path) -> None:
    jobs = registry(tmp_path)
    for bad in ("job_nope", "../../etc/passwd", "", "job_" + "a" * 100):
        with pytest.raises(NotFound):
            jobs.get(bad)


async def test_corrupt_job_files_are_skipped(tmp_path: Path) -> None:
    jobs = registry(tmp_path)
    job = jobs.create("generate", session_id="1")
    (tmp_path / "cfg" / "jobs" / "job_garbage.json").write_text("{not json")
    (tmp_path / "cfg" / "jobs" / "job_wrong.json").write_text('{"id": 3}')
    assert [r.id for r in jobs.records()] == [job.id]


async def test_wait_reports_progress_and_returns_at_the_deadline(tmp_path: Path) -> None:
    jobs = registry(tmp_path)
    job = jobs.create("generate", session_id="1")
    seen: list[str] = []

    async def on_progress(progress: Progress) -> None:
        seen.append(progress.message)

    async def work() -> None:
        await anyio.sleep(0.05)
        job.update(Progress(message="halfway", percent=50))
        await anyio.sleep(0.05)
        job.finish("succeeded", result={})

    async with anyio.create_task_group() as tg:
        tg.start_soon(work)
        assert not await job.wait(0.01, on_progress)
        assert await job.wait(5, on_progress)
    assert "halfway" in seen and job.record.percent == 50
