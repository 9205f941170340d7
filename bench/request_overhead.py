"""Figures 2 and 3: what our layers add to one cheap request (``credits``).

2. ``NemoClient.credits()`` vs the same GET through a bare ``httpx2.AsyncClient`` (headers, status
   check, JSON, the three numbers): our transport, envelope, auth and model layers.
3. The ``credits`` MCP tool through the SDK's in-memory client vs ``Service.credits()`` on the same
   service: the MCP layer (protocol, validation, result building). Both hit the sandbox.

The two sides alternate in blocks, so drifting machine load lands on both; medians resist outliers.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Final

import httpx2
from mcp import Client

from bench import flows
from bench.context import Bench
from bench.report import Figure
from bench.stats import median, percentile, ratio
from free_generation_image.config import Settings
from free_generation_image.mcp_server import build_server
from free_generation_image.nemo.client import NemoClient
from free_generation_image.nemo.identity import attribution_headers
from free_generation_image.service import Service
from free_generation_image.store import Store

CREDITS_PATH: Final = "/api/credits/balance/simple"
BLOCK: Final = 50
WARMUP: Final = 30
TARGET_CLIENT_RATIO: Final = 1.2

Call = Callable[[], Awaitable[Any]]


@dataclass(frozen=True)
class Paired:
    """Per-call latencies (µs) of two ways of doing the same thing, measured alternately, and this
    process's CPU time per call (µs) of each block: the server runs elsewhere, so that is ours alone."""

    ours: list[float]
    base: list[float]
    ours_cpu: list[float]
    base_cpu: list[float]


async def paired(ours: Call, base: Call, count: int) -> Paired:
    """``count`` calls of each, alternating blocks of :data:`BLOCK` (and which side goes first)."""
    for _ in range(min(WARMUP, count // 4)):
        await ours()
        await base()
    result = Paired([], [], [], [])
    done = 0
    while done < count:
        size = min(BLOCK, count - done)
        sides = [(ours, result.ours, result.ours_cpu), (base, result.base, result.base_cpu)]
        for call, samples, cpu in sides if (done // BLOCK) % 2 == 0 else reversed(sides):
            cpu_started = time.process_time_ns()
            for _ in range(size):
                started = time.perf_counter_ns()
                await call()
                samples.append((time.perf_counter_ns() - started) / 1000)
            cpu.append((time.process_time_ns() - cpu_started) / 1000 / size)
        done += size
    return result


def _details(samples: Paired) -> dict[str, Any]:
    return {
        side: {
            "calls": len(values),
            "median_us": median(values),
            "p90_us": percentile(values, 0.9),
            "mean_us": sum(values) / len(values),
            "cpu_us_per_call": median(cpu),
        }
        for side, values, cpu in (
            ("ours", samples.ours, samples.ours_cpu),
            ("baseline", samples.base, samples.base_cpu),
        )
    }


async def measure_client(bench: Bench) -> list[Figure]:
    """Figure 2: ``credits`` through NemoClient vs a bare httpx2 client, same token and headers."""
    user = await bench.control(bench.sandbox.new_user)
    settings = flows.settings_for(bench.url, bench.folder("client"), token=user.token)
    headers = {
        **attribution_headers(skill_source=None, client_name=None),
        "Accept": "application/json",
        "Authorization": f"Bearer {user.token}",
    }
    url = bench.url + CREDITS_PATH
    async with (
        NemoClient(settings, Store(settings.config_dir)) as client,
        httpx2.AsyncClient(timeout=30) as bare,
    ):

        async def ours() -> None:
            await client.credits()

        async def base() -> None:
            response = await bare.get(url, headers=headers)
            response.raise_for_status()
            data = response.json()["data"]
            int(data["available"]), int(data["frozen"]), int(data["total"])

        samples = await paired(ours, base, bench.scale.requests)
    ours_us, base_us = median(samples.ours), median(samples.base)
    value = ratio(ours_us, base_us)
    return [
        Figure(
            key="client_overhead",
            title=f"2. credits via NemoClient ({bench.scale.requests} requests, median)",
            value=ours_us,
            unit="us",
            baseline=base_us,
            baseline_label="bare httpx2.AsyncClient",
            ratio=value,
            ratio_label="ours/bare",
            target=f"≤ {TARGET_CLIENT_RATIO:g}×",
            met=value <= TARGET_CLIENT_RATIO,
            note=(
                f"our layers add {ours_us - base_us:,.0f} µs per request; client CPU per request "
                f"{median(samples.ours_cpu):,.0f} µs ours vs {median(samples.base_cpu):,.0f} µs bare"
            ),
            details=_details(samples),
        )
    ]


async def measure_tool(bench: Bench) -> list[Figure]:
    """Figure 3: the ``credits`` tool over MCP (both protocol eras) vs the service call it makes."""
    user = await bench.control(bench.sandbox.new_user)
    settings = flows.settings_for(bench.url, bench.folder("tool"), token=user.token)
    services: list[Service] = []

    def factory(resolved: Settings) -> Service:
        services.append(Service(resolved))
        return services[-1]

    out: list[Figure] = []
    server = build_server(settings, service_factory=factory)
    for mode, era in (("legacy", "2025-11-25 session"), ("auto", "2026-07-28 stateless")):
        async with Client(server, mode=mode) as client:
            service = services[-1]

            async def ours(client: Client = client) -> None:
                result = await client.call_tool("credits", {})
                if result.is_error:
                    raise RuntimeError(f"the credits tool failed: {result.content}")

            async def base(service: Service = service) -> None:
                await service.credits()

            samples = await paired(ours, base, bench.scale.tool_calls)
        ours_us, base_us = median(samples.ours), median(samples.base)
        out.append(
            Figure(
                key=f"tool_overhead_{mode}",
                title=f"3. credits tool via MCP, {era} (median)",
                value=ours_us,
                unit="us",
                baseline=base_us,
                baseline_label="Service.credits() directly",
                ratio=ratio(ours_us, base_us),
                ratio_label="mcp/direct",
                note=f"the MCP layer adds {ours_us - base_us:,.0f} µs per call ({mode} mode)",
                details=_details(samples),
            )
        )
    return out
