"""Accounts: users, roles, permissions, login sessions, API tokens, rate limits."""
