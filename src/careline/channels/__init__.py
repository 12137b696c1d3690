"""Outgoing messages (SMS, email): domains queue them in an outbox; a later channel sends them."""
