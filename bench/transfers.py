"""Figures 5 and 6: a 200 MiB upload and a 200 MiB download, ours vs bare streaming httpx2.

Each measurement runs in a fresh child process (``transfer_child``), so every peak RSS is separable:
the file must flow through, never sit in memory. The timed runs go to ``bench.servers transfer``,
which does only the wire work (drain the upload, stream the file): into the sandbox, its Python
multipart parsing and hashing take two thirds of an upload's wall time and vary by ±30 % from run to
run, which would drown the clients' difference. One more pair per figure goes through the sandbox
itself, end to end, and is reported in the note.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, Final, Literal

import anyio
import httpx2

from bench import flows
from bench.context import Bench
from bench.processes import ROOT, child_env, server_process
from bench.report import Figure
from bench.stats import median, ratio
from free_generation_image.nemo.client import NemoClient
from free_generation_image.nemo.identity import attribution_headers
from free_generation_image.store import Store

MB: Final = 10**6  # RSS is judged in MB, as the target is stated
MIB: Final = 2**20  # file sizes are in MiB, as the 200 MiB upload limit is
TARGET_UPLOAD_SPEED: Final = 0.9
TARGET_RSS_MB: Final = 50.0
# An MP4 file-type box, so a download passes the magic-byte check of a real export; the rest is noise.
MP4_HEAD: Final = b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2"
FILL_CHUNK: Final = 4 * MIB
PLACEHOLDER_TOKEN: Final = "nmv_usr_placeholder"  # the transfer server checks no token

Arm = Literal["ours", "bare", "durable"]
Runs = dict[Arm, list[dict[str, Any]]]
Prepare = Callable[[], Awaitable[tuple[str, list[str]]]]  # -> (token, child arguments) of one run


def sample_file(folder: Path, size: int) -> Path:
    """A ``size``-byte MP4-looking file of random bytes (incompressible, written in chunks)."""
    path = folder / "sample.mp4"
    with path.open("wb") as out:
        out.write(MP4_HEAD)
        left = size - len(MP4_HEAD)
        while left > 0:
            out.write(os.urandom(min(FILL_CHUNK, left)))
            left -= FILL_CHUNK
    return path


async def child(
    bench: Bench, operation: str, arm: Arm, api: str, token: str, args: list[str]
) -> dict[str, Any]:
    """Run one ``transfer_child`` measurement against ``api`` and return what it printed."""
    folder = bench.folder(f"{operation}-{arm}")
    command = [sys.executable, "-m", "bench.transfer_child", operation, arm, "--api", api, *args]
    command += ["--dir", str(folder)]
    # Dirty pages left by the previous child would throttle this one's writes (the kernel makes
    # writers pay for writeback past its dirty limit): start each from a clean page cache.
    await anyio.to_thread.run_sync(os.sync)
    done = await anyio.run_process(command, cwd=ROOT, env=child_env({"NEMO_TOKEN": token}), check=False)
    await anyio.to_thread.run_sync(shutil.rmtree, folder)
    if done.returncode != 0:
        raise RuntimeError(f"{operation} {arm} child failed:\n{done.stderr.decode(errors='replace')[-2000:]}")
    result: dict[str, Any] = json.loads(done.stdout.decode().strip().splitlines()[-1])
    return result


async def alternate(
    bench: Bench,
    operation: str,
    api: str,
    prepare: Prepare,
    runs: int,
    arms: tuple[Arm, ...] = ("ours", "bare"),
) -> Runs:
    """``runs`` children per arm, the order reversed every other run."""
    out: Runs = {arm: [] for arm in arms}
    for run in range(runs):
        for arm in arms if run % 2 == 0 else tuple(reversed(arms)):
            token, args = await prepare()
            out[arm].append(await child(bench, operation, arm, api, token, args))
    return out


def rows(
    key: str, title: str, runs: Runs, end_to_end: Runs | None, speed_target: float | None
) -> list[Figure]:
    """Wall time (speed ratio bare/ours) and peak RSS growth rows for one kind of transfer."""
    ours_s, bare_s = (median([r["seconds"] for r in runs[arm]]) for arm in ("ours", "bare"))
    ours_mb, bare_mb = (max(r["rss_growth"] for r in runs[arm]) / MB for arm in ("ours", "bare"))
    ours_cpu, bare_cpu = (median([r["cpu_seconds"] for r in runs[arm]]) for arm in ("ours", "bare"))
    speed = ratio(bare_s, ours_s)
    size = runs["ours"][0]["bytes"] / MIB
    note = (
        f"client CPU {ours_cpu:.2f} s ours vs {bare_cpu:.2f} s bare; "
        f"{size / ours_s:.0f} MiB/s ours vs {size / bare_s:.0f} MiB/s bare"
    )
    if "durable" in runs:
        durable_s = median([r["seconds"] for r in runs["durable"]])
        note += f"; bare + fsync (crash-safe, as ours): {durable_s:.2f} s"
    if end_to_end is not None:
        ours_e2e, bare_e2e = (end_to_end[arm][0]["seconds"] for arm in ("ours", "bare"))
        note += f"; through the sandbox itself: {ours_e2e:.2f} s ours vs {bare_e2e:.2f} s bare"
    details = {"runs": runs, "sandbox_runs": end_to_end}
    return [
        Figure(
            key=f"{key}_time",
            title=f"{title} {size:.0f} MiB: wall time (median)",
            value=ours_s,
            unit="s",
            baseline=bare_s,
            baseline_label="bare streaming httpx2",
            ratio=speed,
            ratio_label="speed, bare time/ours",
            target=f"≥ {speed_target:g}× speed" if speed_target is not None else "",
            met=speed >= speed_target if speed_target is not None else None,
            note=note,
            details=details,
        ),
        Figure(
            key=f"{key}_rss",
            title=f"{title} {size:.0f} MiB: peak RSS growth (max)",
            value=ours_mb,
            unit="MB",
            baseline=bare_mb,
            baseline_label="bare streaming httpx2",
            target=f"< {TARGET_RSS_MB:g} MB",
            met=ours_mb < TARGET_RSS_MB,
            details=details,
        ),
    ]


async def _session(bench: Bench, token: str) -> str:
    settings = flows.settings_for(bench.url, bench.folder("session"), token=token)
    async with NemoClient(settings, Store(settings.config_dir)) as client:
        return (await client.create_session("bench transfers", "en")).session_id


async def _sample(bench: Bench, name: str) -> Path:
    return await anyio.to_thread.run_sync(sample_file, bench.folder(name), bench.scale.transfer_bytes)


async def measure_upload(bench: Bench) -> list[Figure]:
    """Figure 5: the same file uploaded by both sides."""
    path = await _sample(bench, "upload-source")
    with server_process("transfer", str(path.parent)) as server:

        async def to_server() -> tuple[str, list[str]]:
            return PLACEHOLDER_TOKEN, ["--session", "bench", "--source", str(path)]

        runs = await alternate(bench, "upload", server.url, to_server, bench.scale.transfer_runs)
    end_to_end = None
    if bench.scale.references:

        async def to_sandbox() -> tuple[str, list[str]]:
            # The sandbox keeps uploads in memory: each run gets an empty one, not a fuller process.
            await bench.control(bench.sandbox.reset)
            user = await bench.control(bench.sandbox.new_user)
            return user.token, ["--session", await _session(bench, user.token), "--source", str(path)]

        end_to_end = await alternate(bench, "upload", bench.url, to_sandbox, 1)
    return rows("upload", "5. upload", runs, end_to_end, TARGET_UPLOAD_SPEED)


async def measure_download(bench: Bench) -> list[Figure]:
    """Figure 6: the same file downloaded by both sides, as an export's ``outputUrl`` is."""
    path = await _sample(bench, "download-source")
    with server_process("transfer", str(path.parent)) as server:
        url = f"{server.url}/files/{path.name}"

        async def from_server() -> tuple[str, list[str]]:
            return PLACEHOLDER_TOKEN, ["--source", url]

        arms: tuple[Arm, ...] = ("ours", "bare", "durable") if bench.scale.references else ("ours", "bare")
        runs = await alternate(bench, "download", server.url, from_server, bench.scale.transfer_runs, arms)
    end_to_end = None
    if bench.scale.references:
        token, cdn_url = await _into_sandbox(bench, path)

        async def from_sandbox() -> tuple[str, list[str]]:
            return token, ["--source", cdn_url]

        end_to_end = await alternate(bench, "download", bench.url, from_sandbox, 1)
    return rows("download", "6. download", runs, end_to_end, None)


async def _into_sandbox(bench: Bench, path: Path) -> tuple[str, str]:
    """Put ``path`` in the sandbox's file store (set-up, not measured); (token, its CDN URL)."""
    user = await bench.control(bench.sandbox.new_user)
    session = await _session(bench, user.token)
    headers = {
        **attribution_headers(skill_source=None, client_name=None),
        "Authorization": f"Bearer {user.token}",
    }
    async with httpx2.AsyncClient(timeout=300) as http:
        with path.open("rb") as fh:  # httpx2 reads the part in chunks
            response = await http.post(
                f"{bench.url}/api/upload-video/nemo_agent/me/{session}",
                files={"files": (path.name, fh, "video/mp4")},
                headers=headers,
            )
    response.raise_for_status()
    return user.token, str(response.json()["data"]["files"][0]["cdn_url"])
