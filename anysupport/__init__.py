"""AnySupport server: REST API, WebSocket signaling, blind media relay and record storage."""

__version__ = "0.1.0"
