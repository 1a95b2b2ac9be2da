"""The console's widgets: login, main window, sessions tab, record form, record management, viewer, settings."""
