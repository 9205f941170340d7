"""The studio in a real browser: headless Chromium (the distribution's), a test host page running the official
ext-apps AppBridge, and the real MCP server on the sandbox behind it. generate → Export MP4 → the player
plays it, the image renders, axe-core finds nothing serious, in English and in Chinese.

Set FGI_SCREENSHOTS_DIR (e.g. to docs/) to keep the screenshots there.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import pytest
from mcp.server.mcpserver import MCPServer

from tests.studio.relay import bundle_bridge, npm_tools, relay

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")

pytestmark = [
    pytest.mark.anyio,
    pytest.mark.slow,
    pytest.mark.timeout(300),
    pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (apt-get install chromium)"),
]

SAFE_AREA = {"top": 12, "right": 0, "bottom": 24, "left": 0}


async def _run_and_export(page: Any, prompt: str, host_context: dict[str, Any], export_label: str) -> Any:
    """The model calls generate; the host renders the studio; the user clicks Export MP4."""
    structured = await page.evaluate(
        "([prompt, ctx]) => runTool('generate', {prompt, kind: 'image', new_project: true}, ctx)",
        [prompt, host_context],
    )
    assert structured["status"] == "completed", structured
    frame = await (await page.wait_for_selector("#app")).content_frame()
    assert frame is not None
    img = await frame.wait_for_selector("#gallery img[data-loaded='1']", timeout=30_000)
    await frame.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=img, timeout=30_000)

    await frame.get_by_role("button", name=export_label, exact=True).click()
    video = await frame.wait_for_selector("#exports video[data-loaded='1']", timeout=60_000)
    await frame.wait_for_function(
        "v => v.readyState >= 4 && Number.isFinite(v.duration) && v.duration > 0", arg=video, timeout=30_000
    )
    assert await video.evaluate("v => v.duration") > 0
    assert await video.evaluate("v => v.poster.startsWith('data:image/')")
    assert await img.evaluate("i => i.naturalWidth") > 0
    # Full size and zoomable from the keyboard: Enter opens it, + zooms, Escape closes.
    await img.evaluate("i => i.closest('button').focus()")
    await frame.press("#gallery button.zoom", "Enter")
    await frame.wait_for_selector("#zoom[open]")
    width = await frame.evaluate("document.getElementById('zoom-img').getBoundingClientRect().width")
    await frame.press("#zoom-stage", "+")
    assert await frame.evaluate("document.getElementById('zoom-img').getBoundingClientRect().width") > width
    assert await frame.evaluate("document.getElementById('zoom-img').naturalWidth") > 0
    await frame.press("#zoom-stage", "Escape")
    await frame.wait_for_selector("#zoom:not([open])", state="attached")
    await frame.evaluate("document.activeElement.blur()")  # no focus ring in the screenshots
    # The timeline strip shows the project's track(s) with named, timed segments.
    await frame.wait_for_selector("#timeline .lane li", timeout=30_000)
    return frame


def _screenshot_dir(tmp_path: Path) -> Path:
    shots = Path(os.environ.get("FGI_SCREENSHOTS_DIR") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    return shots


async def _axe(frame: Any, axe_js: str) -> list[dict[str, Any]]:
    await frame.evaluate(axe_js)
    result = await frame.evaluate("() => axe.run(document, {resultTypes: ['violations']})")
    return [
        {"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]]}
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]


async def test_generate_export_and_play_in_the_studio(server: MCPServer, tmp_path: Path) -> None:
    from playwright.async_api import async_playwright

    modules = npm_tools()
    bridge_js = bundle_bridge(modules, tmp_path)
    axe_js = (modules / "axe-core" / "axe.min.js").read_text(encoding="utf-8")
    shots = _screenshot_dir(tmp_path)

    async with relay(server, bridge_js) as base_url, async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = await browser.new_page(viewport={"width": 940, "height": 900})
            errors: list[str] = []
            page.on("pageerror", lambda err: errors.append(str(err)))
            await page.goto(base_url + "/")

            frame = await _run_and_export(
                page,
                "a red fox in the snow",
                {"theme": "light", "locale": "en-US", "safeAreaInsets": SAFE_AREA},
                "Export MP4",
            )
            assert await frame.evaluate("document.documentElement.lang") == "en"
            assert await frame.evaluate("getComputedStyle(document.body).paddingBottom") == "36px"
            credits = await frame.inner_text("#credits")
            assert "→" in credits, credits
            assert await frame.is_visible("#web-link")
            await frame.get_by_role("button", name="Open in web app").click()
            await page.wait_for_function("window.hostLog.openedLinks.length > 0")
            calls = await page.evaluate("window.hostLog.toolCalls")
            assert {"studio_media", "studio_project", "studio_progress", "export"} <= set(calls), calls
            assert await _axe(frame, axe_js) == []
            await page.locator("#app").screenshot(path=str(shots / "studio-en.png"))

            # The spending action asks first, with the estimate, and sends nothing until confirmed.
            await frame.get_by_role("button", name="Variation…").click()
            await frame.get_by_role("button", name="Estimate cost").click()
            await frame.wait_for_selector("#ask-cost:has-text('credits')")
            assert "generate" not in (await page.evaluate("window.hostLog.toolCalls"))
            await frame.get_by_role("button", name="Cancel", exact=True).click()
            # Confirmed, it is sent once; the page follows the job and shows the new image.
            await frame.get_by_role("button", name="Variation…").click()
            await frame.get_by_role("button", name="Estimate cost").click()
            await frame.wait_for_selector("#ask-cost:has-text('credits')")
            await frame.get_by_role("button", name="Generate", exact=True).click()
            await frame.wait_for_function(
                "() => document.querySelectorAll('#gallery img[data-loaded]').length === 2", timeout=60_000
            )
            assert (await page.evaluate("window.hostLog.toolCalls")).count("generate") == 1
            assert await frame.inner_text("#credits") != credits

            frame = await _run_and_export(
                page,
                "雪地里的一只红狐狸",
                {"theme": "dark", "locale": "zh-CN", "safeAreaInsets": SAFE_AREA},
                "导出 MP4",
            )
            assert await frame.evaluate("document.documentElement.lang") == "zh-CN"
            assert await frame.inner_text("#title") == "工作室"
            assert await frame.evaluate("document.documentElement.dataset.theme") == "dark"
            assert await _axe(frame, axe_js) == []
            await page.locator("#app").screenshot(path=str(shots / "studio-zh.png"))
            assert errors == []
        finally:
            await browser.close()
