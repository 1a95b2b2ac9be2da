"""Test support: the real server in a child process, and thin HTTP/WebSocket clients."""
