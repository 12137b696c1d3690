"""Escalations: a red flag puts a nurse on the line now, with a clock, re-alerts and an audit trail."""
