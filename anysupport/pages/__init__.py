"""HTML pages the server serves: the customer connection page and the admin pages."""
