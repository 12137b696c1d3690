"""Directory test helpers: an admin client, and objects made in tenant A or B."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from tests.factories import signed_in


@pytest.fixture
def admin(app, world) -> Iterator[TestClient]:
    """A client signed in as the admin (the only role that may change the directory)."""
    with signed_in(app, world.admin) as c:
        yield c
