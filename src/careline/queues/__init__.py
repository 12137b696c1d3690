"""Queues, agent presence and skills, offers (leases), callbacks, live figures and next-step routing."""
