"""Routes of the HTML pages (filled in by the pages feature)."""

default_handlers: list = []
