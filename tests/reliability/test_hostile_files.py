"""Files end to end against a hostile backend: whatever names, types, sizes and redirects the media hosts
send, a download is a complete file of the expected type inside the output dir, under a name that did
not exist before, or nothing at all (and the generation or export says which)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import anyio
import pytest

from free_generation_image import downloads as downloads_module
from free_generation_image import naming, saving
from free_generation_image.config import Settings
from free_generation_image.projects import SavedProject
from free_generation_image.service import Service
from tests.helpers import files_under, leftovers

from .hostile import HTML, MP4, PNG, SESSION_ID, TASK_ID, Hostile, run_hostile

pytestmark = pytest.mark.anyio

PROMPT = "a hostile picture of a harbour"
STEM = naming.safe_stem(PROMPT)


@pytest.fixture(scope="module")
def module_hostile() -> Iterator[Hostile]:
    with run_hostile() as hostile:
        yield hostile


@pytest.fixture
def hostile(module_hostile: Hostile) -> Hostile:
    module_hostile.reset()
    return module_hostile


@pytest.fixture
def settings(hostile: Hostile, tmp_path: Path) -> Settings:
    return Settings.from_env(
        {}, api_url=hostile.url, config_dir=tmp_path / "config", output_dir=tmp_path / "out"
    )


def outside(tmp_path: Path) -> list[Path]:
    """Files anywhere under the test's dir except the output and config dirs: must stay empty."""
    return [p for p in files_under(tmp_path) if not p.is_relative_to(tmp_path / "out")]


def assert_clean(tmp_path: Path, settings: Settings) -> None:
    assert [p for p in outside(tmp_path) if not p.is_relative_to(settings.config_dir)] == []
    assert leftovers(settings.output_dir, settings.config_dir) == []


# ------------------------------------------------------------------------------- generated media
SAVED = ["png", "traversal-name", "absolute-name", "reserved-name", "bidi-name", "redirect-ok"]


@pytest.mark.parametrize("case", SAVED)
async def test_server_names_never_choose_where_a_file_lands(
    service: Service, hostile: Hostile, settings: Settings, tmp_path: Path, case: str
) -> None:
    hostile.media = [{"type": "image", "url": hostile.file_url(case)}]
    result = await service.generate(PROMPT, kind="image", wait_seconds=20)
    [media] = result.media
    path = Path(media.path)
    assert path.parent == settings.output_dir and path.name == f"{STEM}.png"
    assert await anyio.Path(path).read_bytes() == PNG
    assert Path(media.sidecar or "").name == f"{STEM}.png.json"
    assert sorted(p.name for p in files_under(settings.output_dir)) == [f"{STEM}.png", f"{STEM}.png.json"]
    assert_clean(tmp_path, settings)


REFUSED = {
    "html-page": "text/html (probably an error page)",
    "html-as-png": "unrecognised data",  # the bytes decide, not the lying Content-Type
    "json-error": "application/json (probably an error page)",
    "video-for-image": "sent mp4",
    "empty": "empty file",
    "redirect-file": "non-http(s)",
    "redirect-ftp": "non-http(s)",
    "redirect-data": "non-http(s) URL (data:)",  # httpx2 offers no next request; we say why
    "redirect-loop": "Too many redirects",
}


@pytest.mark.parametrize(("case", "why"), REFUSED.items())
async def test_what_is_not_the_expected_file_is_refused_clearly_and_leaves_nothing(
    service: Service, hostile: Hostile, settings: Settings, tmp_path: Path, case: str, why: str
) -> None:
    hostile.media = [{"type": "image", "url": hostile.file_url(case)}]
    result = await service.generate(PROMPT, kind="image", wait_seconds=20)
    assert result.status == "completed" and result.media == []
    [note] = [n for n in result.notes if n.startswith("Could not save")]
    assert why in note and "still in the project" in note
    assert files_under(settings.output_dir) == []
    assert_clean(tmp_path, settings)
    if case == "redirect-loop":
        assert len([p for _, p, _ in hostile.requests if p == "/f/redirect-loop"]) == 6  # 1 + 5 redirects


@pytest.mark.parametrize(
    "link",
    [
        "file:///etc/passwd",
        "ftp://127.0.0.1/a.png",
        "javascript:alert(1)",
        "data:image/png;base64,iVBO",
        "/f/png",
    ],
)
async def test_media_links_that_are_not_http_are_never_opened(
    service: Service, hostile: Hostile, settings: Settings, tmp_path: Path, link: str
) -> None:
    hostile.media = [{"type": "image", "url": link}]
    result = await service.generate(PROMPT, kind="image", wait_seconds=20)
    assert result.status == "completed" and result.media == []
    assert any(n.startswith("Could not save") and "Not an http(s) URL" in n for n in result.notes), (
        result.notes
    )
    assert hostile.media_hosts_saw() == []
    assert_clean(tmp_path, settings)


async def test_an_endless_body_is_cut_at_the_size_cap(
    service: Service, hostile: Hostile, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(downloads_module, "MAX_DOWNLOAD_BYTES", 512 * 1024)
    hostile.media = [{"type": "image", "url": hostile.file_url("endless")}]
    result = await service.generate(PROMPT, kind="image", wait_seconds=20)
    assert result.media == [] and any("524,288-byte limit" in n for n in result.notes), result.notes
    assert_clean(tmp_path, settings)
    sent = hostile.sent_bytes["endless"]
    await anyio.sleep(0.2)
    assert hostile.sent_bytes["endless"] - sent < 1024 * 1024  # we hung up: the server stopped sending


async def test_a_download_appears_whole_or_not_at_all(
    service: Service, hostile: Hostile, settings: Settings
) -> None:
    hostile.media = [{"type": "image", "url": hostile.file_url("slow")}]
    seen: list[tuple[str, int]] = []

    async def watch() -> None:
        while True:
            seen.extend(
                (p.name, p.stat().st_size) for p in files_under(settings.output_dir) if p.suffix == ".png"
            )
            seen.extend((p.name, -1) for p in leftovers(settings.output_dir))
            await anyio.sleep(0.005)

    async with anyio.create_task_group() as tasks:
        tasks.start_soon(watch)
        result = await service.generate(PROMPT, kind="image", wait_seconds=20)
        tasks.cancel_scope.cancel()
    seen.extend((p.name, p.stat().st_size) for p in files_under(settings.output_dir) if p.suffix == ".png")
    [media] = result.media
    assert any(size == -1 for _, size in seen), "the bytes never went through a temp file"
    final = [size for name, size in seen if name == Path(media.path).name]
    assert final and set(final) == {len(PNG * 40)}  # never seen under its name while incomplete


async def test_existing_files_are_never_overwritten(
    service: Service, hostile: Hostile, settings: Settings
) -> None:
    settings.output_dir.mkdir(parents=True)
    mine = settings.output_dir / f"{STEM}.png"
    mine.write_bytes(b"my own picture")
    orphan_sidecar = settings.output_dir / f"{STEM}-2.png.json"
    orphan_sidecar.write_text('{"mine": true}')
    hostile.media = [{"type": "image", "url": hostile.file_url("png")}]
    result = await service.generate(PROMPT, kind="image", wait_seconds=20)
    [media] = result.media
    assert Path(media.path).name == f"{STEM}-3.png"  # -2 is taken by someone's sidecar
    assert mine.read_bytes() == b"my own picture" and orphan_sidecar.read_text() == '{"mine": true}'


async def test_media_hosts_never_get_the_token_or_the_client_id(service: Service, hostile: Hostile) -> None:
    hostile.media = [{"type": "image", "url": hostile.file_url("redirect-ok")}]
    await service.generate(PROMPT, kind="image", wait_seconds=20)
    seen = hostile.media_hosts_saw()
    assert len(seen) == 2  # the redirect and its target
    assert all("authorization" not in h and "x-client-id" not in h for h in seen)


# ------------------------------------------------------------------------------------------ exports
def adopt_project(service: Service, hostile: Hostile, title: str) -> None:
    """A current project whose timeline the backend titled ``title`` (and no prompt of ours to name it)."""
    hostile.draft_title = title
    hostile.state = {"draft": hostile.draft(hostile.file_url("png"))}
    now = time.time()
    service.projects.store.save(
        SavedProject(TASK_ID, SESSION_ID, None, "en", now, link="https://web.test/p", link_at=now)
    )


async def test_an_export_served_as_html_fails_clearly_and_leaves_no_file(
    service: Service, hostile: Hostile, settings: Settings, tmp_path: Path
) -> None:
    adopt_project(service, hostile, "Harbour at night")
    hostile.render_url = hostile.file_url("html-page")
    hostile.download = (HTML, "text/html")  # the authenticated fallback is broken too
    with pytest.raises(saving.UnexpectedContent) as info:
        await service.export("mp4", wait_seconds=20)
    text = info.value.user_text()
    assert "Expected a" in text and "text/html (probably an error page); nothing was saved" in text
    assert files_under(settings.output_dir) == []
    assert_clean(tmp_path, settings)


async def test_an_export_url_serving_html_falls_back_to_the_download_endpoint(
    service: Service, hostile: Hostile, settings: Settings
) -> None:
    adopt_project(service, hostile, "Harbour at night")
    hostile.render_url = hostile.file_url("html-page")
    result = await service.export("mp4", wait_seconds=20)
    assert result.file is not None and await anyio.Path(result.file.path).read_bytes() == MP4
    assert [p.name for p in files_under(settings.output_dir)] == [
        "Harbour-at-night-export.mp4",
        "Harbour-at-night-export.mp4.json",
    ]


async def test_an_export_link_that_is_not_http_is_not_opened_and_the_endpoint_is_used(
    service: Service, hostile: Hostile, settings: Settings
) -> None:
    adopt_project(service, hostile, "Harbour at night")
    hostile.render_url = "file:///etc/passwd"
    result = await service.export("mp4", wait_seconds=20)
    assert result.file is not None and await anyio.Path(result.file.path).read_bytes() == MP4
    assert hostile.media_hosts_saw() == []


@pytest.mark.parametrize(
    "title",
    [
        "../../../../etc/passwd",
        "/etc/cron.d/evil",
        "..\\..\\Windows\\System32\\evil",
        "CON",
        "nul",
        "COM1",
        "..",
        "\u202egnp.exe",
        "\x00\x1b[31m",
        "x" * 1000,
        "名字/../../外面",
    ],
)
async def test_a_hostile_timeline_title_still_names_a_file_inside_the_output_dir(
    service: Service, hostile: Hostile, settings: Settings, tmp_path: Path, title: str
) -> None:
    adopt_project(service, hostile, title)
    hostile.render_url = hostile.file_url("mp4")
    result = await service.export("mp4", wait_seconds=20)
    assert result.file is not None
    path = Path(result.file.path)
    assert path.parent == settings.output_dir and path.suffix == ".mp4"
    assert path.stem.lower() not in ("con", "nul", "com1", "", ".", "..")
    assert path.name.isprintable() and "\u202e" not in path.name and len(path.name.encode()) < 200
    assert_clean(tmp_path, settings)
