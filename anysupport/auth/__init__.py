"""Authentication (who is asking) and the login endpoints."""
