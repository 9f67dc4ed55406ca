"""Key-encryption keys (SKP_KEK_FILE)."""

from __future__ import annotations

import click

from skp import sealing
from skp.cli import State, cli, pass_state


@cli.group()
def keys() -> None:
    """Key-encryption keys: the file outside the database that unlocks message keys."""


@keys.command("init")
@pass_state
def init(state: State) -> None:
    """Create the KEK file (refuses to overwrite an existing one)."""
    ring = sealing.create_keyring_file(state.settings.kek_file)
    click.echo(f"created key-encryption key {ring.current_id} in {state.settings.kek_file}")


@keys.command("rotate")
@pass_state
def rotate(state: State) -> None:
    """Add a new KEK and re-wrap every stored data key with it; ciphertexts stay as they are.

    The old KEKs stay in the file until you remove them yourself, after this command
    has finished on every hub process's data.
    """
    from skp.hub import Hub
    from skp.store.db import check_database, make_engine

    engine = make_engine(state.settings.database_url)
    check_database(engine)  # before the file changes
    ring = sealing.rotate_keyring_file(state.settings.kek_file)
    hub = Hub.build(state.settings, engine=engine, keyring=ring)
    count = hub.mailbox.rewrap_keys()
    hub.engine.dispose()
    click.echo(f"new key-encryption key {ring.current_id}; re-wrapped {count} data keys")
