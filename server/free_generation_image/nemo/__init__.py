"""Async client for the NemoVideo skill backend ("back end A" of shared/nemo-api.md). No MCP, no printing."""
