"""The demo world: reproducible tenants, staff and (in later modules) directory, patients and history."""
