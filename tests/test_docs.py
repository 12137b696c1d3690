"""The docs keep up with the code: every setting and every CLI command is documented."""

from __future__ import annotations

from pathlib import Path

import typer.main

from careline.cli import app
from careline.config import Settings

ROOT = Path(__file__).resolve().parent.parent
OPERATIONS = (ROOT / "docs" / "operations.md").read_text()


def test_every_setting_is_documented() -> None:
    missing = [
        f"CARELINE_{name.upper()}"
        for name in Settings.model_fields
        if f"`CARELINE_{name.upper()}`" not in OPERATIONS
    ]
    assert missing == []


def _commands(group: object, prefix: str = "careline") -> list[str]:
    out = []
    for name, cmd in group.commands.items():  # type: ignore[attr-defined]
        if hasattr(cmd, "commands"):  # a group (typer ships its own click)
            out += _commands(cmd, f"{prefix} {name}")
        else:
            out.append(f"{prefix} {name}")
    return out


def test_every_cli_command_is_documented() -> None:
    commands = _commands(typer.main.get_command(app))
    assert "careline audit verify" in commands
    documented = [c for c in commands if f"`{c}" in OPERATIONS or f"/ `{c.split()[-1]}" in OPERATIONS]
    undocumented = sorted(set(commands) - set(documented))
    assert undocumented == []


def test_the_readme_names_the_two_commands_and_the_demo_logins() -> None:
    readme = (ROOT / "README.md").read_text()
    assert "make run" in readme and "make test" in readme
    from careline.demo.seed import STAFF

    assert all(email in readme for email, *_ in STAFF)
