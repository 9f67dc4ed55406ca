"""Key-encryption keys: the key store (SKP_KEY_STORE: the KEK file or an HSM)."""

from __future__ import annotations

import click

from skp.cli import CliError, State, cli, pass_state
from skp.config import KeyStoreKind
from skp.domain.epochs import ends
from skp.keystore import KeyStore
from skp.keystore import file as keyfile
from skp.store.keys import wrapped_keys


def _store(state: State) -> KeyStore:
    store = state.hub.keyring
    if not isinstance(store, KeyStore):  # pragma: no cover - the CLI's hub opens a key store
        raise CliError("the hub's key ring is no key store")
    return store


@cli.group()
def keys() -> None:
    """Key-encryption keys (KEKs): one per epoch, kept outside the database."""


@keys.command("init")
@pass_state
def init(state: State) -> None:
    """Create the KEK file (refuses to overwrite an existing one)."""
    if state.settings.key_store is not KeyStoreKind.FILE:
        raise CliError("SKP_KEY_STORE is not file: the HSM makes the first KEK itself when the "
                       "hub opens it")
    ring = keyfile.create_keyring_file(state.settings.kek_file)
    click.echo(f"created key-encryption key {ring.current_id} in {state.settings.kek_file}")


@keys.command("list")
@pass_state
def list_(state: State) -> None:
    """Every live KEK: when its epoch began and ended, and how many stored data keys it wraps."""
    store = _store(state)
    used = wrapped_keys(state.hub.sessions)
    ended = ends(store.epochs(), store.current_id)
    for epoch in sorted(store.epochs(), key=lambda e: e.created_at):
        until = ended.get(epoch.kek_id)
        span = f"until {until:%Y-%m-%dT%H:%M:%SZ}" if until else "(current)"
        click.echo(f"{epoch.kek_id}  wraps {used.pop(epoch.kek_id, 0)} data keys  "
                   f"from {epoch.created_at:%Y-%m-%dT%H:%M:%SZ} {span}")
    for kek_id, count in used.items():
        click.echo(f"{kek_id}  wraps {count} data keys  MISSING from the key store")


@keys.command("rotate")
@pass_state
def rotate(state: State) -> None:
    """Start a new epoch at once and re-wrap every stored data key with its KEK; ciphertexts
    stay as they are. For a KEK that may be compromised.

    Running hubs take up the new KEK without a restart. The old KEKs, no longer used, are
    destroyed by the scheduler a few minutes later (or now with `skp keys retire`).
    """
    store = _store(state)
    epoch = store.create(state.hub.clock.now())
    click.echo(f"new key-encryption key {epoch.kek_id}; re-wrapped "
               f"{state.hub.mailbox.rewrap_keys()} data keys")


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
    """Destroy an old KEK now; refused for the current one and while a stored data key is
    wrapped by it."""
    store = _store(state)
    if kek_id not in {e.kek_id for e in store.epochs()}:
        raise CliError(f"KEK {kek_id} is not in the key store")
    if kek_id == store.current_id:
        raise CliError(f"KEK {kek_id} is the current one; rotate first (skp keys rotate)")
    if count := wrapped_keys(state.hub.sessions)[kek_id]:
        raise CliError(f"{count} stored data keys are wrapped by {kek_id}; destroying it would "
                       "make their messages unreadable: run `skp keys rewrap` first")
    store.destroy(kek_id)
    click.echo(f"destroyed key-encryption key {kek_id}")
