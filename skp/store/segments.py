"""The documents of pending messages, stored apart in segments of ciphertext.

A document's ciphertext (skp.attachments) is written and read one segment at a time, so neither
the hub nor the database driver holds a whole document; it is deleted with the message's
content, in the same transaction.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Row, Select, Update, bindparam, delete, insert, select
from sqlalchemy.orm import Session

from skp.attachments import Spool
from skp.store.models import Message, MessageSegment

_WRITE = insert(MessageSegment)
_READ = select(MessageSegment.data).where(
    MessageSegment.message_id == bindparam("message"),
    MessageSegment.document == bindparam("document"), MessageSegment.seq == bindparam("seq"))
#: The segments of the messages whose ids are ``messages``; run it when their content is deleted.
DROP = delete(MessageSegment).where(
    MessageSegment.message_id.in_(bindparam("messages", expanding=True)))


def write(db: Session | Connection, message_id: str, spool: Spool) -> None:
    """Store the documents of ``spool`` as those of the message ``message_id``."""
    for document in spool.documents:
        for seq, data in enumerate(spool.segments(document)):
            db.execute(_WRITE, {"message_id": message_id, "document": document.index,
                                "seq": seq, "data": data})


def read(db: Session | Connection, message: Message | Row[Any]) -> list[list[bytes]] | None:
    """The ciphertext of each of the message's documents, in segments, read one at a time (a
    query for all would hold them twice, in the driver and here); None when they are gone:
    the message was confirmed meanwhile."""
    found: list[list[bytes]] = []
    for document in range(message.documents):
        pieces: list[bytes] = []
        while (data := db.execute(_READ, {"message": message.id, "document": document,
                                          "seq": len(pieces)}).scalar()) is not None:
            pieces.append(data)
        if not pieces:
            return None
        found.append(pieces)
    return found


def dropping(confirm: Update) -> Select[Any]:
    """``confirm``, an ``UPDATE … RETURNING`` of messages, with their documents deleted by the
    same statement (PostgreSQL: a data-modifying ``WITH``)."""
    confirmed = confirm.cte("confirmed")
    return select(confirmed).add_cte(delete(MessageSegment).where(
        MessageSegment.message_id.in_(select(confirmed.c.id))).cte("dropped"))
