"""The WebSocket endpoint of agents' consoles and customers' clients, and the registry of live ones."""
