"""How a message's content is sealed to its metadata, and where it sits on the row."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Row

from skp import sealing
from skp.errors import NotFound
from skp.store.models import Message


def aad(m: Message | Row[Any]) -> bytes:
    """The immutable metadata a message's ciphertext is bound to."""
    return sealing.associated_data({
        "id": m.id, "module": m.module.value, "type": m.type_code, "sender": m.sender_id,
        "recipient": m.recipient_id, "kenmerk": m.kenmerk, "conversation": m.conversation_id,
        "cross_reference": m.cross_reference_id, "version": m.version,
        "received_at": m.received_at.astimezone(dt.UTC).isoformat(), "size": m.size,
    })


def context_aad(message_id: str) -> bytes:
    """What a Saldoverzoek's sealed claim list is bound to: the id of its message."""
    return sealing.associated_data({"claim_context_of": message_id})


def store(m: Message, sealed: sealing.Sealed | None) -> None:
    """Put ``sealed`` on the message's row, or delete its content (None)."""
    if sealed is None:
        m.nonce = m.ciphertext = m.wrapped_key = m.kek_id = None
    else:
        m.nonce, m.ciphertext = sealed.nonce, sealed.ciphertext
        m.wrapped_key, m.kek_id = sealed.wrapped_key, sealed.kek_id


def sealed_of(m: Message | Row[Any]) -> sealing.Sealed:
    """The sealed content on a message's row."""
    if m.nonce is None or m.ciphertext is None or m.wrapped_key is None or m.kek_id is None:
        raise NotFound(f"message {m.id} holds no content")  # pragma: no cover - DB check
    return sealing.Sealed(m.nonce, m.ciphertext, m.wrapped_key, m.kek_id)

