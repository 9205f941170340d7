"""Discovery documents: the MCP Server Card (SEP-2127) and an AI Catalog entry pointing at it.

The identity fields are the ones ``server.json`` (the MCP registry entry) carries; a test keeps the two
equal. Schema and locations: modelcontextprotocol/experimental-ext-server-card (schema.ts,
docs/discovery.md): the reserved location is ``<streamable-http-url>/server-card``, the common one today
``/.well-known/mcp/server-card.json``; both are served.
"""

from __future__ import annotations

from typing import Any

from mcp_types.version import SUPPORTED_PROTOCOL_VERSIONS

from free_generation_image.skillmeta import SKILL

SCHEMA = "https://static.modelcontextprotocol.io/schemas/v1/server-card.schema.json"
MEDIA_TYPE = "application/mcp-server-card+json"
CATALOG_MEDIA_TYPE = "application/ai-catalog+json"
WELL_KNOWN_PATH = "/.well-known/mcp/server-card.json"
CATALOG_PATH = "/.well-known/ai-catalog.json"

# The same identity as server.json (tests/remote/test_card.py compares them).
NAME = "io.github.free-generation-image/free-generation-image"
TITLE = "Free Generation Image"
DESCRIPTION = "Text prompt to images and short 1080p videos via NemoVideo, saved as real files on disk."
REPOSITORY = {"url": "https://github.com/free-generation-image/free-generation-image", "source": "github"}
WEBSITE = "https://github.com/free-generation-image/free-generation-image"


def server_card(mcp_url: str, resource_metadata_url: str, issuer: str) -> dict[str, Any]:
    """The card for a server whose Streamable HTTP endpoint is ``mcp_url``."""
    return {
        "$schema": SCHEMA,
        "name": NAME,
        "version": SKILL.version,
        "description": DESCRIPTION,
        "title": TITLE,
        "websiteUrl": WEBSITE,
        "repository": dict(REPOSITORY),
        "remotes": [
            {
                "type": "streamable-http",
                "url": mcp_url,
                "headers": [
                    {
                        "name": "Authorization",
                        "description": "Optional: your NemoVideo API token as a bearer token. Without it, "
                        "clients sign in with OAuth 2.1 (dynamic client registration, PKCE).",
                        "isRequired": False,
                        "isSecret": True,
                        "value": "Bearer {nemo_token}",
                        "variables": {
                            "nemo_token": {
                                "description": "NemoVideo API token (nemovideo.com, Settings, API Tokens)",
                                "isRequired": True,
                                "isSecret": True,
                            }
                        },
                    }
                ],
                "supportedProtocolVersions": list(SUPPORTED_PROTOCOL_VERSIONS),
            }
        ],
        "_meta": {
            "io.github.free-generation-image/auth": {
                "oauthProtectedResource": resource_metadata_url,
                "authorizationServer": issuer,
                "bearerTokens": "NemoVideo API tokens are accepted directly",
            }
        },
    }


def ai_catalog(card_url: str) -> dict[str, Any]:
    """An AI Catalog with this one server (``/.well-known/ai-catalog.json``)."""
    return {
        "specVersion": "1.0",
        "entries": [
            {
                "identifier": "urn:air:github.com:free-generation-image:free-generation-image",
                "type": MEDIA_TYPE,
                "url": card_url,
            }
        ],
    }
