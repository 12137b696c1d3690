"""Durable background work and live events, both kept in the database so every process shares them."""
