"""Audit log: append-only, hash-chained record of every access to patient data and every sign-in."""
