"""Shared client code: the REST/WebSocket API client and the media pipeline (no Qt here)."""
