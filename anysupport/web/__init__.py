"""The HTTP side: base handler, the endpoint decorator, the application factory, OpenAPI."""
