"""Satisfaction surveys after each contact: a signed, expiring link (or the phone), one answer per contact."""
