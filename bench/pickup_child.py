"""Process A of figure 11: generations on a config dir shared with the benchmark (process B).

    NEMO_TOKEN=... python -m bench.pickup_child --api URL --dir DIR

For each ``go`` line on stdin it starts one image generation, prints ``{"event": "started", ...}``,
waits for the job in this process and prints ``{"event": "ended", ...}`` with the moment its own wait
returned; it exits at the end of stdin. The token comes from the environment only.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread

from bench import flows
from free_generation_image.service import Service

WAIT_SECONDS = 300.0


def emit(event: dict[str, Any]) -> None:
    print(json.dumps(event), flush=True)


async def run(api: str, folder: Path) -> None:
    async with Service(flows.settings_for(api, folder, token=os.environ["NEMO_TOKEN"])) as service:
        index = 0
        while (await anyio.to_thread.run_sync(sys.stdin.readline)).strip() == "go":
            job, _ = await service.start_generate(f"{flows.prompt(index)}, pickup", kind="image")
            emit({"event": "started", "job_id": job.id})
            job = await service.wait(job, WAIT_SECONDS)
            returned = time.time()
            emit(
                {
                    "event": "ended",
                    "job_id": job.id,
                    "status": job.record.status,
                    "returned_at": returned,
                    "updated_at": job.record.updated_at,
                }
            )
            index += 1


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.pickup_child")
    p.add_argument("--api", required=True, help="the sandbox's URL")
    p.add_argument("--dir", type=Path, required=True, help="folder whose config/ and out/ are shared")
    args = p.parse_args(argv)
    anyio.run(run, args.api, args.dir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
