"""``GET /files/{key}``: the sandbox's CDN, with byte ranges and the ``drop_download`` fault."""

from __future__ import annotations

from starlette.responses import Response, StreamingResponse

from free_generation_image.sandbox.call import Call
from free_generation_image.sandbox.files import StoredFile, byte_range
from free_generation_image.sandbox.responses import ApiError
from free_generation_image.sandbox.streams import bytes_body


async def files(call: Call) -> Response:
    """GET /files/{key}: the sandbox's CDN (public, like the real one)."""
    stored = call.world.files.get(call.params["key"])
    if stored is None:
        raise ApiError(404, "Not Found", envelope="detail")
    return serve(call, stored, call.params["key"].rsplit("/", 1)[-1])


def serve(call: Call, stored: StoredFile, filename: str) -> Response:
    """The file, or the byte range asked for (206/416); cut mid-way when ``drop_download`` fires."""
    size = len(stored.data)
    try:
        wanted = byte_range(call.request.headers.get("range"), size)
    except ValueError:
        return Response(status_code=416, headers={"Content-Range": f"bytes */{size}"})
    start, end = wanted or (0, size - 1)
    chunk = stored.data[start : end + 1]
    headers = {
        "Accept-Ranges": "bytes",
        "Content-Length": str(len(chunk)),
        "Content-Disposition": f'inline; filename="{filename}"',
    }
    if wanted is not None:
        headers["Content-Range"] = f"bytes {start}-{end}/{size}"
    status = 206 if wanted is not None else 200
    drop = call.fault("drop_download")
    if drop is not None:
        after = drop.params["after_bytes"]
        body = bytes_body(chunk, drop_after=len(chunk) // 2 if after is None else int(after))
        return StreamingResponse(body, status_code=status, headers=headers, media_type=stored.content_type)
    return Response(chunk, status_code=status, headers=headers, media_type=stored.content_type)
