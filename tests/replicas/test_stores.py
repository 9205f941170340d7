"""The same job-store behaviour on every implementation: files (stdio), SQLite (the remote default), Redis."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import anyio
import pytest

from free_generation_image.jobs import Job
from tests.replicas.conftest import StoreSetup

pytestmark = pytest.mark.anyio


async def test_twin_requests_on_two_registries_make_one_job(stores: StoreSetup) -> None:
    one, two = stores.registry(), stores.registry()
    made: list[tuple[Job, bool]] = []

    async def start(jobs: object) -> None:
        assert jobs is one or jobs is two
        made.append(await jobs.create_or_join("generate", dedupe_key="k", window=600, session_id="s"))

    async with anyio.create_task_group() as tg:
        for jobs in (one, two, one, two):
            tg.start_soon(start, jobs)
    assert len({job.id for job, _ in made}) == 1
    assert sorted(joined for _, joined in made) == [False, True, True, True]


async def test_a_running_job_belongs_to_its_owner_until_it_closes(stores: StoreSetup) -> None:
    owner, other = stores.registry(), stores.registry()
    job, _ = await owner.create_or_join("export", dedupe_key="e", window=600, session_id="s")
    seen = await anyio.to_thread.run_sync(other.get, job.id)
    assert await anyio.to_thread.run_sync(other.running_elsewhere, seen.record)
    assert await anyio.to_thread.run_sync(lambda: list(other.orphans())) == []
    await anyio.to_thread.run_sync(owner.close)
    orphans = await anyio.to_thread.run_sync(lambda: list(other.orphans()))
    assert [r.id for r in orphans] == [job.id]
    assert await anyio.to_thread.run_sync(other.claim, orphans[0])
    adopted = other.adopt(orphans[0])
    adopted.finish("succeeded", result={"ok": True})
    await anyio.to_thread.run_sync(other.log.flush)
    third = stores.registry()
    record = await anyio.to_thread.run_sync(third.log.load, job.id)
    assert record is not None and record.status == "succeeded" and record.owner == other.owner


async def test_only_one_replica_adopts_an_orphan(redis_stores: StoreSetup) -> None:
    owner = redis_stores.registry()
    job, _ = await owner.create_or_join("export", dedupe_key="e", window=600, session_id="s")
    await anyio.to_thread.run_sync(owner.close)
    rivals = [redis_stores.registry() for _ in range(3)]
    wins = [await anyio.to_thread.run_sync(r.claim, job.record) for r in rivals]
    assert wins.count(True) == 1


async def test_a_dead_owner_stops_renewing_and_its_job_is_orphaned(redis_stores: StoreSetup) -> None:
    from free_generation_image.redisstore import RedisHub

    owner = redis_stores.registry()
    job, _ = await owner.create_or_join("generate", dedupe_key="g", window=600, session_id="s")
    elsewhere = RedisHub(
        redis_stores.url, lease_seconds=1.0
    )  # another replica: its own connection and leases
    try:
        other = redis_stores.registry(hub=elsewhere)
        await anyio.sleep(1.5)  # longer than the lease: the owner renewed it meanwhile
        assert await anyio.to_thread.run_sync(other.running_elsewhere, job.record)
        redis_stores.hub.leases.stop()  # what SIGKILL does to the renewing thread
        deadline = time.monotonic() + 5
        while await anyio.to_thread.run_sync(lambda: list(other.orphans())) == []:
            assert time.monotonic() < deadline, "the lease never expired"
            await anyio.sleep(0.1)
        assert await anyio.to_thread.run_sync(other.claim, job.record)
    finally:
        elsewhere.close()


async def test_users_and_api_urls_are_isolated(stores: StoreSetup) -> None:
    mine = stores.registry("alice")
    job, _ = await mine.create_or_join("generate", dedupe_key="k", window=600, session_id="s")
    for stranger in (stores.registry("bob"), stores.registry("alice", api="http://other")):
        assert await anyio.to_thread.run_sync(stranger.records) == []
        twin, joined = await stranger.create_or_join("generate", dedupe_key="k", window=600, session_id="s")
        assert not joined and twin.id != job.id


async def test_a_job_whose_lease_went_elsewhere_stops_and_records_nothing(redis_stores: StoreSetup) -> None:
    from free_generation_image.engine import Engine

    jobs = redis_stores.registry()
    engine = Engine(jobs)
    job, _ = await jobs.create_or_join("export", dedupe_key="e", window=600, session_id="s")
    ran = anyio.Event()

    async def body() -> Any:
        ran.set()
        await anyio.sleep_forever()

    async with anyio.create_task_group() as tg:
        engine.attach(tg)
        engine.spawn(job, body)
        await ran.wait()
        # Redis was away longer than the lease and another replica adopted the job meanwhile.
        lease = next(k for k in redis_stores.hub.client.keys("fgi:u:u1:lease:*"))
        redis_stores.hub.client.set(lease, "another-replica")
        await anyio.to_thread.run_sync(redis_stores.hub.leases.renew_now)
        with anyio.fail_after(5):
            while jobs.live(job.id) is not None:  # noqa: ASYNC110 - set from the lease thread
                await anyio.sleep(0.01)
    await anyio.to_thread.run_sync(jobs.log.flush)
    record = await anyio.to_thread.run_sync(jobs.log.load, job.id)
    assert record is not None and record.status == "running"  # left to its new owner, not "cancelled"
    assert job.lost and job.cancel_scope is not None and job.cancel_scope.cancel_called


def test_a_state_database_that_cannot_be_used_is_a_plain_error(tmp_path: Path) -> None:
    from free_generation_image.sqlitestore import SqliteHub, StateUnavailable

    hub = SqliteHub(tmp_path / "state.db", tmp_path / "locks")
    jobs = hub.for_user("u1", "http://a").jobs
    assert hub.ping() and jobs.recent() == []
    hub.close()  # what a vanished or corrupt file looks like to the next query
    with pytest.raises(StateUnavailable, match="state database") as info:
        jobs.recent()
    assert "FGI_STATE_DIR" in info.value.hint
    assert hub.ping() is False
