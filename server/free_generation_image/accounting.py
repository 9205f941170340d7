"""What one generation cost and made, told honestly: its own credits (only when no other generation of
the account ran at the same time), the price learned for next time, a duration the backend cut."""

from __future__ import annotations

import time
from typing import Any

import anyio.to_thread

from free_generation_image.deps import Deps
from free_generation_image.jobs import Job, JobRecord


async def own_spend(
    d: Deps,
    job: Job,
    before: int | None,
    after: int | None,
    new_media: list[dict[str, Any]],
    notes: list[str],
) -> int | None:
    """Credits this job spent, when no other generation of the account overlapped it; None otherwise."""
    if before is None or after is None:
        return None
    turn = job.record.params.get("turn") or [job.record.created_at, None]
    records = await anyio.to_thread.run_sync(d.jobs.records)
    if any(_overlaps(r, job.id, turn) for r in records):
        notes.append(
            "Another generation ran at the same time (in another project), so the credits it took cannot "
            f"be told apart from this one's; {after} credits are available now."
        )
        return None
    spent = before - after
    kinds = {str(m.get("type") or "").lower() for m in new_media}
    if spent > 0 and kinds in ({"image"}, {"video"}) and len(new_media) == 1:
        await d.costs.record("video" if kinds == {"video"} else "image", spent)
    return spent


def _overlaps(record: JobRecord, job_id: str, turn: list[Any]) -> bool:
    if record.id == job_id or record.kind != "generate":
        return False
    other = record.params.get("turn")
    if not isinstance(other, list) or len(other) != 2 or not isinstance(other[0], int | float):
        return False
    start, end = turn[0], turn[1] or time.time()
    other_end = other[1] if isinstance(other[1], int | float) else time.time()
    return bool(other[0] < end and other_end > start)


def duration_note(requested: Any, new_media: list[dict[str, Any]], notes: list[str]) -> None:
    """Say so when a video came out shorter or longer than asked (the backend caps clip length)."""
    if not isinstance(requested, int | float):
        return
    for entry in new_media:
        got = entry.get("duration")
        if str(entry.get("type") or "").lower() != "video" or not isinstance(got, int | float) or got <= 0:
            continue
        if abs(got - requested) >= 1:
            notes.append(
                f"You asked for {requested:g} s; the backend made a {got:g}-s clip (one clip, charged once)."
            )
            return


__all__ = ["duration_note", "own_spend"]
