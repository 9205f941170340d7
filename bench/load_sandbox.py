"""Load on the sandbox: N concurrent sessions, each token -> session -> stream -> state -> render -> download.

    python bench/load_sandbox.py [--sessions 50] [--media-scale 0.1] [--render-seconds 1] ...

The baseline is one session alone, measured in the same run; the table shows each phase's latency
under load and its ratio to that baseline. Media is scaled down and identical compositions share one
encode (render cache), as the output says. Exit status 1 if any session failed.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import anyio
import httpx2

from free_generation_image.sandbox import SandboxConfig, run_sandbox

PHASES = ("token", "session", "stream", "state", "render", "download")
SUBJECTS = (
    "a lighthouse at dusk",
    "a red fox in snow",
    "waves on black sand",
    "a neon city street",
    "a paper boat",
)
ATTRIBUTION = {
    "X-Skill-Source": "free-generation-image-bench",
    "X-Skill-Version": "0",
    "X-Skill-Platform": "bench",
}


@dataclass
class Run:
    """Timings (seconds) per phase, and failures, of a batch of sessions."""

    timings: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    wall: float = 0.0


async def timed(run: Run, phase: str, step: Callable[[], Awaitable[Any]]) -> Any:
    started = time.perf_counter()
    result = await step()
    run.timings[phase].append(time.perf_counter() - started)
    return result


def check(condition: bool, message: str) -> None:
    if not condition:
        raise AssertionError(message)


async def one_session(http: httpx2.AsyncClient, run: Run, index: int, seconds: float) -> None:
    phase = "token"
    try:

        async def token() -> dict[str, str]:
            response = await http.post("/api/auth/anonymous-token", headers={"X-Client-Id": f"bench-{index}"})
            check(response.status_code == 200, f"token: HTTP {response.status_code}")
            data = response.json()["data"]
            return {"Authorization": f"Bearer {data['token']}", **ATTRIBUTION}

        headers = await timed(run, phase, token)

        phase = "session"

        async def session() -> str:
            response = await http.post(
                "/api/tasks/me/with-session/nemo_agent", json={"task_name": f"bench {index}"}, headers=headers
            )
            check(response.json()["code"] == 0, f"session: {response.text[:200]}")
            return str(response.json()["data"]["session_id"])

        sid = await timed(run, phase, session)

        phase = "stream"
        prompt = f"Generate a {seconds:g} s 16:9 video of {SUBJECTS[index % len(SUBJECTS)]}"

        async def stream() -> None:
            body = {
                "app_name": "nemo_agent",
                "user_id": "me",
                "session_id": sid,
                "new_message": {"parts": [{"text": prompt}]},
            }
            events = 0
            async with http.stream("POST", "/run_sse", json=body, headers=headers) as response:
                check(response.status_code == 200, f"stream: HTTP {response.status_code}")
                async for line in response.aiter_lines():
                    events += line.startswith("data: {") and "heartbeat" not in line
            check(events == 7, f"stream: {events} events instead of 7")

        await timed(run, phase, stream)

        phase = "state"

        async def state() -> dict[str, Any]:
            response = await http.get(f"/api/state/nemo_agent/me/{sid}/latest", headers=headers)
            draft: dict[str, Any] = response.json()["data"]["state"]["draft"]
            check(len(draft.get("t", [])) == 3, "state: the draft should have video, BGM and title tracks")
            return draft

        draft = await timed(run, phase, state)

        phase = "render"

        async def render() -> str:
            render_id = f"render_bench_{index}"
            submit = await http.post(
                "/api/render/proxy/lambda",
                headers=headers,
                json={"id": render_id, "sessionId": sid, "draft": draft},
            )
            check(submit.json().get("success") is True, f"render: {submit.text[:200]}")
            while True:
                await anyio.sleep(0.1)
                data = (await http.get(f"/api/render/proxy/lambda/{render_id}", headers=headers)).json()[
                    "data"
                ]
                if data["status"] in ("completed", "failed", "cancelled"):
                    check(data["status"] == "completed", f"render: {data}")
                    return str(data["outputUrl"])

        url = await timed(run, phase, render)

        phase = "download"

        async def download() -> None:
            response = await http.get(url)
            check(response.status_code == 200 and response.content[4:8] == b"ftyp", "download: not an MP4")

        await timed(run, phase, download)
    except Exception as err:  # a benchmark reports every failure instead of stopping at the first
        run.errors[phase].append(f"session {index}: {type(err).__name__}: {err}")


async def batch(url: str, sessions: int, first_index: int, seconds: float) -> Run:
    run = Run()
    limits = httpx2.Limits(max_connections=sessions * 2, max_keepalive_connections=sessions * 2)
    started = time.perf_counter()
    client = httpx2.AsyncClient(base_url=url, timeout=120, limits=limits, trust_env=False, verify=False)
    async with client as http, anyio.create_task_group() as tasks:
        for index in range(first_index, first_index + sessions):
            tasks.start_soon(one_session, http, run, index, seconds)
    run.wall = time.perf_counter() - started
    return run


def ms(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return 1000 * ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


ROW = "{:<9}{:>5}{:>8}{:>9}{:>9}{:>9}{:>10}{:>11}"


def report(alone: Run, loaded: Run, sessions: int) -> None:
    print(ROW.format("phase", "ok", "errors", "p50 ms", "p95 ms", "max ms", "alone ms", "p50/alone"))
    for phase in PHASES:
        times, base = loaded.timings[phase], alone.timings[phase]
        ratio = statistics.median(times) / statistics.median(base) if times and base else float("nan")
        cells = [f"{ms(times, q):.0f}" for q in (0.5, 0.95, 1.0)]
        print(
            ROW.format(
                phase, len(times), len(loaded.errors[phase]), *cells, f"{ms(base, 0.5):.0f}", f"{ratio:.2f}x"
            )
        )
    failed = sum(len(e) for e in loaded.errors.values())
    print(
        f"wall time: {sessions} sessions in {loaded.wall:.1f} s (one session alone: {alone.wall:.1f} s); "
        f"{sessions - failed}/{sessions} completed without errors"
    )
    for phase in PHASES:
        for message in loaded.errors[phase][:5]:
            print(f"  {phase}: {message}")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("--sessions", type=int, default=50)
    p.add_argument("--media-scale", type=float, default=0.1)
    p.add_argument("--generation-seconds", type=float, default=1.0)
    p.add_argument("--render-seconds", type=float, default=2.0)
    p.add_argument("--clip-seconds", type=float, default=3.0, help="duration of each generated video")
    p.add_argument("--no-render-cache", action="store_true")
    args = p.parse_args()
    config = SandboxConfig(
        quota_enabled=False,
        media_scale=args.media_scale,
        generation_seconds=args.generation_seconds,
        edit_seconds=args.generation_seconds / 4,
        render_seconds=args.render_seconds,
        heartbeat_interval=0.5,
        render_cache=not args.no_render_cache,
    )
    cache = "share one encode (render cache on)" if config.render_cache else "are each encoded (cache off)"
    print(f"sandbox load: {args.sessions} concurrent sessions, each " + " -> ".join(PHASES))
    print(
        f"  media at {args.media_scale:.0%} of 1080p; generation {args.generation_seconds:g} s, render "
        f"{args.render_seconds:g} s (sandbox clock)"
    )
    print(f"  {len(SUBJECTS)} distinct prompts, so identical compositions {cache}")
    with run_sandbox(config) as sb:
        alone = anyio.run(batch, sb.url, 1, 10_000, args.clip_seconds)
        sb.reset()
        loaded = anyio.run(batch, sb.url, args.sessions, 0, args.clip_seconds)
    report(alone, loaded, args.sessions)
    return 1 if any(loaded.errors.values()) or any(alone.errors.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
