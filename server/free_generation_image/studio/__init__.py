"""The studio MCP App: a ``ui://`` page that shows and exports results inside hosts that support Apps."""

from free_generation_image.studio.app import STUDIO_URI, Studio, is_app_only, studio_html, tool_meta

__all__ = ["STUDIO_URI", "Studio", "is_app_only", "studio_html", "tool_meta"]
