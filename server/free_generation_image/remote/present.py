"""What a remote user sees: results without the server's paths (pure, applied to wire-form results)."""

from __future__ import annotations

import re
from pathlib import PurePath
from typing import Any

REMOTE_LINK_NOTE = "Only you can read this file: resources/read with this URI (or open the URL)."


class PathScrubber:
    """Replaces every path under the server's state folder with the file's bare name."""

    def __init__(self, root: str) -> None:
        roots = {root.rstrip("/\\")}
        self._pattern = re.compile(
            "(?:"
            + "|".join(re.escape(r) for r in sorted(roots, key=len, reverse=True))
            + r")[/\\][^\s\"'<>)]*"
        )

    def text(self, value: str) -> str:
        return self._pattern.sub(lambda m: PurePath(m.group(0).replace("\\", "/")).name, value)

    def value(self, value: Any) -> Any:
        """Any JSON value with its strings scrubbed; media entries lose their sidecar path."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, list):
            return [self.value(v) for v in value]
        if isinstance(value, dict):
            out = {k: self.value(v) for k, v in value.items()}
            if "sidecar" in out and "mime_type" in out:
                out["sidecar"] = None
            return out
        return value

    def tool_result(self, result: dict[str, Any]) -> dict[str, Any]:
        """A ``tools/call`` result in wire form: text, structured content and resource links."""
        out: dict[str, Any] = self.value(result)
        for block in out.get("content") or []:
            if isinstance(block, dict) and block.get("type") == "resource_link":
                block["description"] = REMOTE_LINK_NOTE
        return out
