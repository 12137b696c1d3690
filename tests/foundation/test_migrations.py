"""The migrations build exactly the schema the models describe, and step down and up again."""

from __future__ import annotations

from alembic import command

from careline.migrate import alembic_config, downgrade, upgrade


def test_the_migrated_schema_matches_the_models(database_url: str) -> None:
    command.check(alembic_config(database_url))  # raises when a model change has no migration


def test_migrations_downgrade_to_base_and_upgrade_again(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'roundtrip.db'}"
    upgrade(url)
    downgrade(url, "base")
    upgrade(url)
    command.check(alembic_config(url))
