"""Figures 5 and 6: a 200 MB upload and a 200 MB download, ours vs bare streaming httpx2.

Each measurement runs in a fresh child process (``transfer_child``), so every peak RSS is separable:
the file must flow through, never sit in memory. Wall time includes the sandbox's own work on the
same bytes (multipart parsing, hashing), which is identical for both sides; CPU time of the child
isolates the client's share.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any, Final, Literal

import anyio
import httpx2

from bench import flows
from bench.context import Bench
from bench.processes import ROOT, child_env
from bench.report import Figure
from bench.stats import median, ratio
from free_generation_image.nemo.client import NemoClient
from free_generation_image.nemo.identity import attribution_headers
from free_generation_image.store import Store

MB: Final = 10**6
TARGET_UPLOAD_SPEED: Final = 0.9
TARGET_RSS_MB: Final = 50.0
# An MP4 file-type box, so a download passes the magic-byte check of a real export; the rest is noise.
MP4_HEAD: Final = b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2"
FILL_CHUNK: Final = 4 * 2**20

Arm = Literal["ours", "bare"]


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


async def child(bench: Bench, operation: str, arm: Arm, run: int, token: str, *args: str) -> dict[str, Any]:
    """Run one ``transfer_child`` measurement and return what it printed."""
    folder = bench.folder(f"{operation}-{arm}-{run}")
    command = [sys.executable, "-m", "bench.transfer_child", operation, arm, "--api", bench.url]
    command += [*args, "--dir", str(folder)]
    done = await anyio.run_process(command, cwd=ROOT, env=child_env({"NEMO_TOKEN": token}), check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{operation} {arm} child failed:\n{done.stderr.decode(errors='replace')[-2000:]}")
    result: dict[str, Any] = json.loads(done.stdout.decode().strip().splitlines()[-1])
    return result


async def alternate(bench: Bench, operation: str, token: str, *args: str) -> dict[Arm, list[dict[str, Any]]]:
    """``scale.transfer_runs`` children per side, alternating which side goes first."""
    runs: dict[Arm, list[dict[str, Any]]] = {"ours": [], "bare": []}
    for run in range(bench.scale.transfer_runs):
        order: tuple[Arm, Arm] = ("ours", "bare") if run % 2 == 0 else ("bare", "ours")
        for arm in order:
            runs[arm].append(await child(bench, operation, arm, run, token, *args))
    return runs


def rows(
    key: str, title: str, runs: dict[Arm, list[dict[str, Any]]], speed_target: float | None
) -> list[Figure]:
    """Wall time (speed ratio bare/ours) and peak RSS growth rows for one kind of transfer."""
    ours_s, bare_s = (median([r["seconds"] for r in runs[arm]]) for arm in ("ours", "bare"))
    ours_mb, bare_mb = (max(r["rss_growth"] for r in runs[arm]) / MB for arm in ("ours", "bare"))
    ours_cpu, bare_cpu = (median([r["cpu_seconds"] for r in runs[arm]]) for arm in ("ours", "bare"))
    speed = ratio(bare_s, ours_s)
    size = runs["ours"][0]["bytes"] / MB
    details = {"runs": runs}
    return [
        Figure(
            key=f"{key}_time",
            title=f"{title} {size:.0f} MB: wall time (median)",
            value=ours_s,
            unit="s",
            baseline=bare_s,
            baseline_label="bare streaming httpx2",
            ratio=speed,
            ratio_label="speed, bare time/ours",
            target=f"≥ {speed_target:g}× speed" if speed_target is not None else "",
            met=speed >= speed_target if speed_target is not None else None,
            note=(
                f"client CPU {ours_cpu:.2f} s ours vs {bare_cpu:.2f} s bare; "
                f"{size / ours_s:.0f} MB/s ours vs {size / bare_s:.0f} MB/s bare"
            ),
            details=details,
        ),
        Figure(
            key=f"{key}_rss",
            title=f"{title} {size:.0f} MB: peak RSS growth (max)",
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
    settings = flows.settings_for(bench.url, bench.folder("transfer-session"), token=token)
    async with NemoClient(settings, Store(settings.config_dir)) as client:
        return (await client.create_session("bench transfers", "en")).session_id


async def measure_upload(bench: Bench) -> list[Figure]:
    """Figure 5: the same file uploaded into the same project by both sides."""
    path = await anyio.to_thread.run_sync(
        sample_file, bench.folder("upload-source"), bench.scale.transfer_bytes
    )
    user = await bench.control(bench.sandbox.new_user)
    session = await _session(bench, user.token)
    runs = await alternate(bench, "upload", user.token, "--session", session, "--source", str(path))
    return rows("upload", "5. upload", runs, TARGET_UPLOAD_SPEED)


async def measure_download(bench: Bench) -> list[Figure]:
    """Figure 6: a file in the sandbox's store (as a finished export is) downloaded by both sides."""
    path = await anyio.to_thread.run_sync(
        sample_file, bench.folder("download-source"), bench.scale.transfer_bytes
    )
    user = await bench.control(bench.sandbox.new_user)
    session = await _session(bench, user.token)
    headers = {
        **attribution_headers(skill_source=None, client_name=None),
        "Authorization": f"Bearer {user.token}",
    }
    async with httpx2.AsyncClient(timeout=300) as http:
        with path.open("rb") as fh:  # set-up, not measured: httpx2 reads the part in chunks
            response = await http.post(
                f"{bench.url}/api/upload-video/nemo_agent/me/{session}",
                files={"files": (path.name, fh, "video/mp4")},
                headers=headers,
            )
    response.raise_for_status()
    url = response.json()["data"]["files"][0]["cdn_url"]
    runs = await alternate(bench, "download", user.token, "--source", url)
    return rows("download", "6. download", runs, None)
