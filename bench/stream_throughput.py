"""Figure 4: events per second our ``/run_sse`` reader delivers, vs a bare loop over httpx2's EventSource.

Both read the same pre-built ADK turn (``adk_stream``) from a server in another process, over
loopback HTTP, with the same client settings. Ours is ``stream.read_events``: the generator
``NemoClient.run_sse`` returns (SSE decoding, JSON, ADK/typed classification, idle and hard caps);
the response is opened with the idle read timeout, as ``open_run`` does. The baseline only splits
the stream into events and counts them; a second baseline also decodes each event's JSON, which
is the least any client must do, so the gap to it is what classification and the caps cost.
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable
from typing import Final

import httpx2

from bench.context import Bench
from bench.processes import server_process
from bench.report import Figure
from bench.stats import median, ratio
from free_generation_image.nemo.stream import DEFAULT_IDLE_TIMEOUT, read_events

TARGET_RATIO: Final = 0.8
TIMEOUT: Final = httpx2.Timeout(30.0, connect=10.0, read=DEFAULT_IDLE_TIMEOUT)

Reader = Callable[[httpx2.Response], Awaitable[int]]


async def ours(response: httpx2.Response) -> int:
    """Events our reader yields (keep-alives included, as every reader here counts them)."""
    count = 0
    async for _ in read_events(response, read_timeout=DEFAULT_IDLE_TIMEOUT):
        count += 1
    return count


async def bare(response: httpx2.Response) -> int:
    """Events a bare EventSource loop yields."""
    count = 0
    async for _ in httpx2.EventSource(response):
        count += 1
    return count


async def bare_json(response: httpx2.Response) -> int:
    """The bare loop plus ``json.loads`` of each event's data."""
    count = 0
    async for sse in httpx2.EventSource(response):
        json.loads(sse.data)
        count += 1
    return count


async def timed_read(http: httpx2.AsyncClient, url: str, reader: Reader) -> tuple[float, int]:
    """(seconds from sending the request to the last event, events read) for one full stream."""
    started = time.perf_counter()
    async with http.stream("POST", url, json={"new_message": {"parts": [{"text": "go"}]}}) as response:
        count = await reader(response)
    return time.perf_counter() - started, count


async def measure(bench: Bench) -> list[Figure]:
    """Read the stream ``scale.stream_runs`` times with each reader, alternating; median rates."""
    with server_process("stream", str(bench.scale.stream_events)) as server:
        url, events, heartbeats = server.announced.split()
        expected = int(events) + int(heartbeats)
        readers: dict[str, Reader] = {"ours": ours, "bare": bare, "bare_json": bare_json}
        rates: dict[str, list[float]] = {name: [] for name in readers}
        counts: dict[str, int] = {}
        async with httpx2.AsyncClient(timeout=TIMEOUT) as http:
            await timed_read(http, url, bare)  # warm-up: connection, server caches
            for run in range(bench.scale.stream_runs):
                order = list(readers) if run % 2 == 0 else list(reversed(readers))
                for name in order:
                    seconds, count = await timed_read(http, url, readers[name])
                    rates[name].append(count / seconds)
                    counts[name] = count
    for name, count in counts.items():
        if count != expected:
            raise RuntimeError(f"reader {name} yielded {count} events; the stream holds {expected}")
    ours_rate, bare_rate, json_rate = (median(rates[n]) for n in ("ours", "bare", "bare_json"))
    value = ratio(ours_rate, bare_rate)
    return [
        Figure(
            key="stream_throughput",
            title=f"4. /run_sse events read per second ({expected:,} incl. keep-alives)",
            value=ours_rate,
            unit="events/s",
            baseline=bare_rate,
            baseline_label="bare httpx2.EventSource loop",
            ratio=value,
            ratio_label="ours/bare",
            target=f"≥ {TARGET_RATIO:g}×",
            met=value >= TARGET_RATIO,
            note=(
                f"a bare loop that also json-decodes each event reads {json_rate / 1000:,.0f}k ev/s "
                f"(ours/that = {ratio(ours_rate, json_rate):.2f}×)"
            ),
            details={"rates": rates, "events": expected, "bare_json_rate": json_rate},
        )
    ]
