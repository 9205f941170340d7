"""URLs: only http(s) links are taken for uploads; they are handed to the backend and never fetched by
us. (Links the backend sends back, and their redirects, are in test_hostile_files.py.)"""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from free_generation_image.errors import InvalidInput
from free_generation_image.sandbox import Sandbox
from free_generation_image.service import Service
from tests.helpers import Silent

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize(
    "link",
    [
        "file:///etc/passwd",
        "ftp://example.com/clip.mp4",
        "javascript:alert(1)//.png",
        "data:image/png;base64,iVBORw0KGgo=",
        "gopher://127.0.0.1:70/_x.png",
        "http://",
        "https:///no-host.png",
        "HTTPS://\ud800.example/a.png",
        "\\\\server\\share\\clip.mp4",
    ],
)
async def test_only_http_links_are_accepted_and_a_bad_one_stops_the_whole_upload(
    service: Service, sandbox: Sandbox, tmp_path: Path, link: str
) -> None:
    picture = tmp_path / "ref.png"
    Image.new("RGB", (8, 8), "red").save(picture)
    with pytest.raises(InvalidInput):
        await service.upload([str(picture), "https://example.com/fine.mp4", link])
    assert sandbox.journal() == []  # not even a project was created for it


async def test_upload_links_go_to_the_backend_and_are_never_opened_here(
    service: Service, sandbox: Sandbox, silent: Silent
) -> None:
    link = f"{silent.url}/private/clip.mp4?sig=abc"
    result = await service.upload([link])
    assert [item.source for item in result.files] == [link]
    [sent] = sandbox.requests("/api/upload-video", "POST")
    assert link in sent.body and '"source_type":"url"' in sent.body
    assert silent.accepted == []  # nobody (we, or this sandbox) connected to the linked host
