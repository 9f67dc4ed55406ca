"""Key-encryption keys (SKP_KEK_FILE)."""

from __future__ import annotations

import click

from skp import sealing
from skp.cli import State, cli, pass_state
from skp.store.keys import wrapped_keys


@cli.group()
def keys() -> None:
    """Key-encryption keys: the file outside the database that unlocks message keys."""


@keys.command("init")
@pass_state
def init(state: State) -> None:
    """Create the KEK file (refuses to overwrite an existing one)."""
    ring = sealing.create_keyring_file(state.settings.kek_file)
    click.echo(f"created key-encryption key {ring.current_id} in {state.settings.kek_file}")


@keys.command("list")
@pass_state
def list_(state: State) -> None:
    """Every KEK in the file, with how many stored data keys it wraps."""
    ring = sealing.load_keyring(state.settings.kek_file)
    used = wrapped_keys(state.hub.sessions)
    for kek_id in ring.kek_ids:
        current = "  (current)" if kek_id == ring.current_id else ""
        click.echo(f"{kek_id}  wraps {used.pop(kek_id, 0)} data keys{current}")
    for kek_id, count in used.items():
        click.echo(f"{kek_id}  wraps {count} data keys  MISSING from the file")


@keys.command("rotate")
@pass_state
def rotate(state: State) -> None:
    """Add a new KEK and re-wrap every stored data key with it; ciphertexts stay as they are.

    Running hubs take up the new KEK without a restart (they watch the file). The old KEKs
    stay in the file; `skp keys retire` removes one once no stored key uses it.
    """
    hub = state.hub  # the database is checked before the file changes
    ring = sealing.rotate_keyring_file(state.settings.kek_file)
    click.echo(f"new key-encryption key {ring.current_id}; re-wrapped "
               f"{hub.mailbox.rewrap_keys()} data keys")


@keys.command("rewrap")
@pass_state
def rewrap(state: State) -> None:
    """Re-wrap with the current KEK every stored data key an older one still wraps."""
    click.echo(f"re-wrapped {state.hub.mailbox.rewrap_keys()} data keys with "
               f"{state.hub.keyring.current_id}")


@keys.command("retire")
@click.argument("kek_id")
@pass_state
def retire(state: State, kek_id: str) -> None:
    """Remove an old KEK from the file; refused while a stored data key is wrapped by it."""
    sealing.retire_from_keyring_file(state.settings.kek_file, kek_id,
                                     lambda: wrapped_keys(state.hub.sessions)[kek_id])
    click.echo(f"removed key-encryption key {kek_id} from {state.settings.kek_file}")
