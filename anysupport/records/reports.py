"""Routes of the record statistics and the Excel export (filled in by the reports feature)."""

default_handlers: list = []
