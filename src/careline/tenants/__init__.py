"""Tenants: the client health systems and practices the call center serves."""
