"""One upload or download in a fresh process, so its peak RSS is its own; prints one JSON line.

    NEMO_TOKEN=... python -m bench.transfer_child upload ours --api URL --session SID --source FILE --dir DIR
    python -m bench.transfer_child download bare --api URL --source FILE_URL --dir DIR

``ours`` goes through the product's code (``NemoClient.upload_files``; ``MediaSaver.save``, which
every export and generated file uses); ``bare`` is the plain streaming httpx2 equivalent, and
``durable`` (downloads) the same plus the fsync that a crash-safe save needs. Each first makes one
small request, so the connection is open and imports are done before measuring.
The token comes from the environment only: never on a command line.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import resource
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, Final

import anyio
import httpx2
import psutil  # type: ignore[import-untyped]  # no stubs; not worth a dependency

from free_generation_image.config import Settings
from free_generation_image.mediatypes import VIDEO_KINDS
from free_generation_image.nemo.client import NemoClient
from free_generation_image.nemo.identity import attribution_headers
from free_generation_image.service import Service
from free_generation_image.store import Store

CREDITS_PATH: Final = "/api/credits/balance/simple"
TIMEOUT: Final = httpx2.Timeout(300.0, connect=10.0)


class PeakRSS:
    """This process's RSS high-water mark from a starting point on (bytes).

    Linux keeps the mark in ``/proc/self/status`` (VmHWM) and resets it on request, so the peak is
    exactly this operation's. ``getrusage`` cannot be reset, and after ``fork`` + ``exec`` it starts
    from the parent's size; it is only the fallback elsewhere, and then may overstate the growth.
    """

    STATUS: Final = Path("/proc/self/status")

    def __init__(self) -> None:
        try:
            Path("/proc/self/clear_refs").write_text("5")  # 5 = reset the peak to the current RSS
            self.exact = True
        except OSError:
            self.exact = False

    def peak(self) -> int:
        if self.exact:
            for line in self.STATUS.read_text().splitlines():
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024  # kB
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return peak if sys.platform == "darwin" else peak * 1024  # Linux reports KiB


def cpu_seconds() -> tuple[float, float]:
    """(user, system) CPU seconds of this process so far."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime, usage.ru_stime


async def measured(operation: Callable[[], Awaitable[int]]) -> dict[str, Any]:
    """Run ``operation`` (returning bytes moved); its wall time, CPU time and peak RSS growth."""
    gc.collect()
    rss_before = psutil.Process().memory_info().rss
    mark = PeakRSS()
    user_before, system_before = cpu_seconds()
    started = time.perf_counter()
    moved = await operation()
    seconds = time.perf_counter() - started
    peak = mark.peak()
    user, system = cpu_seconds()
    return {
        "seconds": seconds,
        "bytes": moved,
        "cpu_seconds": user - user_before + system - system_before,
        "cpu_user_seconds": user - user_before,
        "cpu_system_seconds": system - system_before,
        "rss_before": rss_before,
        "peak_rss": peak,
        "rss_growth": max(0, peak - rss_before),
        "peak_exact": mark.exact,
    }


def _settings(args: argparse.Namespace) -> Settings:
    return Settings.from_env(
        {},
        api_url=args.api,
        token=os.environ.get("NEMO_TOKEN"),
        config_dir=args.dir / "config",
        output_dir=args.dir / "out",
    )


def _bare_headers() -> dict[str, str]:
    return {
        **attribution_headers(skill_source=None, client_name=None),
        "Authorization": f"Bearer {os.environ['NEMO_TOKEN']}",
    }


async def upload_ours(args: argparse.Namespace) -> dict[str, Any]:
    settings = _settings(args)
    async with NemoClient(settings, Store(settings.config_dir)) as client:
        await client.credits()

        async def upload() -> int:
            files = await client.upload_files(args.session, [args.source])
            if len(files) != 1 or not files[0].cdn_url:
                raise RuntimeError(f"the upload was not registered: {files}")
            return int(args.source.stat().st_size)

        return await measured(upload)


async def upload_bare(args: argparse.Namespace) -> dict[str, Any]:
    headers = _bare_headers()
    url = f"{args.api}/api/upload-video/nemo_agent/me/{args.session}"
    async with httpx2.AsyncClient(timeout=TIMEOUT) as http:
        (await http.get(args.api + CREDITS_PATH, headers=headers)).raise_for_status()

        async def upload() -> int:
            with args.source.open("rb") as fh:  # httpx2 streams a file part in chunks
                files = {"files": (args.source.name, fh, "video/mp4")}
                response = await http.post(url, files=files, headers=headers)
            response.raise_for_status()
            if response.json()["code"] != 0:
                raise RuntimeError(f"upload refused: {response.text[:200]}")
            return int(args.source.stat().st_size)

        return await measured(upload)


async def download_ours(args: argparse.Namespace) -> dict[str, Any]:
    async with Service(_settings(args)) as service:
        await service.client.credits()

        async def download() -> int:
            meta = {"source_url": args.source}
            saved = await service.media.save(args.source, "bench-download", VIDEO_KINDS, args.dir, meta)
            return saved.size

        return await measured(download)


async def download_bare(args: argparse.Namespace, *, durable: bool = False) -> dict[str, Any]:
    async with httpx2.AsyncClient(timeout=TIMEOUT) as http:
        (await http.get(args.api + CREDITS_PATH, headers=_bare_headers())).raise_for_status()

        async def download() -> int:
            moved = 0
            async with http.stream("GET", args.source) as response:
                response.raise_for_status()
                with (args.dir / "bare-download.mp4").open("wb") as out:
                    async for chunk in response.aiter_bytes():
                        out.write(chunk)
                        moved += len(chunk)
                    if durable:  # what a save that survives a crash needs, as ours does
                        out.flush()
                        os.fsync(out.fileno())
            return moved

        return await measured(download)


async def download_durable(args: argparse.Namespace) -> dict[str, Any]:
    return await download_bare(args, durable=True)


OPERATIONS: Final = {
    ("upload", "ours"): upload_ours,
    ("upload", "bare"): upload_bare,
    ("download", "ours"): download_ours,
    ("download", "bare"): download_bare,
    ("download", "durable"): download_durable,
}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.transfer_child")
    p.add_argument("operation", choices=["upload", "download"])
    p.add_argument("arm", choices=["ours", "bare", "durable"])
    p.add_argument("--api", required=True, help="the sandbox's URL")
    p.add_argument("--session", default="", help="session to upload into")
    p.add_argument("--source", required=True, help="file to upload, or URL to download")
    p.add_argument("--dir", type=Path, required=True, help="scratch folder of this child")
    args = p.parse_args(argv)
    if args.operation == "upload":
        args.source = Path(args.source)
    result = anyio.run(OPERATIONS[args.operation, args.arm], args)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
