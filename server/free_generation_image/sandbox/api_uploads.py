"""``POST /api/upload-video/...``: multipart ``files`` or JSON ``urls`` (contract §2.5)."""

from __future__ import annotations

import hashlib
import re
from typing import Any
from urllib.parse import urlsplit

from starlette.datastructures import UploadFile
from starlette.responses import Response

import free_generation_image.sandbox.video as video
from free_generation_image.sandbox.call import Call
from free_generation_image.sandbox.config import SandboxConfig
from free_generation_image.sandbox.files import StoredFile, file_url, key_of
from free_generation_image.sandbox.journal import summarize_body
from free_generation_image.sandbox.media import image_size
from free_generation_image.sandbox.responses import ApiError, bad_request, ok
from free_generation_image.sandbox.world import Session, World

FILE_TYPES = {
    **dict.fromkeys(("mp4", "mov", "avi", "webm", "mkv"), "video"),
    **dict.fromkeys(("jpg", "jpeg", "png", "gif", "webp"), "image"),
    **dict.fromkeys(("mp3", "wav", "m4a", "aac"), "audio"),
}
_SAFE_NAME_RE = re.compile(r"[^A-Za-z0-9._\-]+")
_REMOTE_GUESS: dict[str, dict[str, Any]] = {
    "video": {"duration": 10.0, "width": 1920, "height": 1080, "fps": 30},
    "image": {"width": 1920, "height": 1080},
    "audio": {"duration": 30.0},
}


async def upload(call: Call) -> Response:
    """POST /api/upload-video/nemo_agent/{user}/{sid}: multipart ``files`` or JSON ``urls`` (§2.5)."""
    _, user = call.auth()
    call.own_path(user)
    session = call.session(user, call.params["sid"])
    content_type = call.request.headers.get("content-type", "")
    if content_type.startswith("multipart/form-data"):
        form = await call.request.form(max_files=64, max_fields=64)
        items = [
            (f.filename or "upload", await f.read())
            for f in form.getlist("files")
            if isinstance(f, UploadFile)
        ]
        call.summary = summarize_body(content_type, b"", multipart_files=[(n, len(d)) for n, d in items])
        if not items:
            raise bad_request("no files: send one or more multipart parts named 'files'")
        for name, data in items:
            _check_upload(call.config, name, len(data))
        first = len(session.state["video_infos"])
        entries = [
            await _register_bytes(call, session, first + i, name, data)
            for i, (name, data) in enumerate(items)
        ]
    else:
        urls = call.json().get("urls")
        if not isinstance(urls, list) or not urls or not all(isinstance(u, str) for u in urls):
            raise bad_request('send multipart "files" parts, or JSON {"urls": [...], "source_type": "url"}')
        for url in urls:
            _check_upload(call.config, urlsplit(url).path, 0)
        entries = [await _register_url(call, session, url) for url in urls]
    session.state["video_infos"].extend(entries)
    return ok({"files": entries, "session_state_applied": True})


def _extension(name: str) -> str:
    return name.rsplit(".", 1)[-1].lower() if "." in name else ""


def _check_upload(config: SandboxConfig, name: str, size: int) -> None:
    if _extension(name) not in FILE_TYPES:
        raise ApiError(
            config.status_4001, f"Unsupported file type: {name.rsplit('/', 1)[-1] or name}", code=4001
        )
    if size > config.max_upload_bytes:
        raise ApiError(
            config.status_4002, f"File too large: {size} bytes (limit {config.max_upload_bytes})", code=4002
        )


async def _register_bytes(call: Call, session: Session, slot: int, name: str, data: bytes) -> dict[str, Any]:
    kind = FILE_TYPES[_extension(name)]
    # One folder per upload keeps the original base name, which drafts may cite as /mnt/userdata/<name>.
    key = f"uploads/{session.session_id}/{slot}/{_SAFE_NAME_RE.sub('_', name.rsplit('/', 1)[-1])[-100:]}"
    stored = call.world.files.put(key, data, _content_type(kind, name))
    entry = {
        "filename": name,
        "file_type": kind,
        "cdn_url": file_url(call.base_url, key),
        "hash": _sha256(data),
    }
    return {**entry, **await _probe(call.world, kind, stored)}


async def _register_url(call: Call, session: Session, url: str) -> dict[str, Any]:
    name = urlsplit(url).path.rsplit("/", 1)[-1] or "remote"
    kind = FILE_TYPES[_extension(name)]
    key = key_of(url)
    stored = call.world.files.get(key) if key is not None else None
    entry: dict[str, Any] = {"filename": name, "file_type": kind, "cdn_url": url}
    if stored is None:  # no network here: GUESSed metadata for a file we cannot fetch
        return {**entry, **_REMOTE_GUESS[kind]}
    return {**entry, "hash": _sha256(stored.data), **await _probe(call.world, kind, stored)}


async def _probe(world: World, kind: str, stored: StoredFile) -> dict[str, Any]:
    """Real metadata: images via Pillow; video/audio via PyAV when installed (else left out)."""
    if kind == "image":
        size = image_size(stored.data)
        return {"width": size[0], "height": size[1]} if size else {}
    if not video.available():
        return {}
    info = await world.workers.run(lambda _stop: video.probe(stored.data))
    if info is None:
        return {}
    if kind == "audio":
        return {"duration": round(info.duration, 3)}
    return {
        "duration": round(info.duration, 3),
        "width": info.width,
        "height": info.height,
        "fps": round(info.fps, 3),
    }


def _content_type(kind: str, name: str) -> str:
    ext = _extension(name)
    special = {
        "mov": "video/quicktime",
        "avi": "video/x-msvideo",
        "mkv": "video/x-matroska",
        "jpg": "image/jpeg",
        "mp3": "audio/mpeg",
        "m4a": "audio/mp4",
    }
    return special.get(ext, f"{kind}/{ext}")


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
