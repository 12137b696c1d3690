"""Scheduling: provider calendars, open-time search, and booking that never double-books."""
