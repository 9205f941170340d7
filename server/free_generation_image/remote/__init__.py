"""Remote mode: one MCP server over Streamable HTTP for many users, each with their own state.

Entry points: ``RemoteConfig.from_env()`` then ``serve_http(config)`` (the ``serve --http`` command), or
``app.build_app(config)`` for any ASGI server. Module map: docs/remote.md.
"""

from free_generation_image.remote.config import RemoteConfig

__all__ = ["RemoteConfig"]
