"""Retention: the purge deletes what is due in bounded batches, each its own transaction, and
the re-wrap moves data keys to the current KEK without touching ciphertexts."""

from __future__ import annotations

import datetime as dt
import logging
from collections import Counter
from collections.abc import Callable, Sequence
from typing import TypeVar

from sqlalchemy import Row, and_, select, update
from sqlalchemy.orm import Session

from skp import sealing
from skp.domain.lifecycle import State
from skp.domain.roles import Module
from skp.mailbox.base import MailboxBase
from skp.mailbox.statements import IS_PENDING, delete_batch
from skp.mailbox.types import PurgeResult
from skp.store import counters, segments
from skp.store.models import ClaimContext, Message
from skp.store.session import transaction

log = logging.getLogger("skp.mailbox")
T = TypeVar("T")


class Retention(MailboxBase):
    """Purge and re-wrap."""

    def purge(self, now: dt.datetime | None = None, *, batch_size: int | None = None,
              max_batches: int = 10_000) -> PurgeResult:
        """Delete what is due at ``now``, in bounded batches, each its own transaction.

        Content of unconfirmed messages past their deadline is deleted and the message marked
        expired; claim contexts past their reply period are deleted; metadata older than the
        retention period is deleted. Returns the counts.
        """
        now = now or self._clock.now()
        size = batch_size or self._settings.purge_batch_size
        expired = self._in_batches(size, max_batches, lambda s: self._expire_batch(s, now, size),
                                   committed=_log_expired)
        contexts = self._in_batches(size, max_batches, lambda s: delete_batch(
            s, ClaimContext.message_id, ClaimContext.expires_at <= now, size))
        horizon = now - self._settings.metadata_retention
        metadata = self._in_batches(size, max_batches, lambda s: delete_batch(
            s, Message.id, and_(Message.received_at <= horizon,
                                ~IS_PENDING), size))
        result = PurgeResult(expired, contexts, metadata)
        log.info("purge", extra={"expired": result.expired, "contexts": result.contexts,
                                 "metadata": result.metadata})
        return result

    def _in_batches(self, size: int, max_batches: int, batch: Callable[[Session], Sequence[T]],
                    committed: Callable[[Sequence[T]], None] | None = None) -> int:
        """Run ``batch`` in transactions of its own until it does less than ``size`` rows;
        ``committed`` hears of each batch's rows once its transaction has committed."""
        total = 0
        for _ in range(max_batches):
            with transaction(self._sessions) as session:
                done = batch(session)
            if committed is not None:
                committed(done)
            total += len(done)
            if len(done) < size:
                break
        return total

    def _expire_batch(self, session: Session, now: dt.datetime,
                      size: int) -> Sequence[Row[str, Module, str, str]]:
        """Expire up to ``size`` messages due at ``now`` and count them by type in the
        database (skp.store.counters); their ids, modules, types and recipients."""
        rows = session.execute(
            select(Message.id, Message.module, Message.type_code, Message.recipient_id)
            .where(IS_PENDING, Message.deadline_at <= now)
            # (state, deadline_at) is the index's order: read from it, not a sort of every
            # due row per batch (docs/performance.md, "Purge").
            .order_by(Message.state, Message.deadline_at).limit(size)
            .with_for_update(skip_locked=True)).all()
        if rows:
            ids = [row.id for row in rows]
            session.execute(
                update(Message).where(Message.id.in_(ids)).values(
                    state=State.EXPIRED, expired_at=now, nonce=None, ciphertext=None,
                    wrapped_key=None, kek_id=None),
                execution_options={"synchronize_session": False})
            session.execute(segments.DROP, {"messages": ids})
            counters.add_expired(session, Counter((row.module, row.type_code) for row in rows))
        return rows

    def rewrap_keys(self, batch_size: int = 500) -> int:
        """Re-wrap every data key not wrapped by the current KEK; ciphertexts stay as they are."""
        total = self._in_batches(batch_size, 1_000_000,
                                 lambda s: self._rewrap_batch(s, Message, batch_size))
        total += self._in_batches(batch_size, 1_000_000,
                                  lambda s: self._rewrap_batch(s, ClaimContext, batch_size))
        log.info("rewrapped", extra={"data_keys": total, "kek": self._keyring.current_id})
        return total

    def _rewrap_batch(self, session: Session, model: type[Message] | type[ClaimContext],
                      size: int) -> Sequence[Message | ClaimContext]:
        current = self._keyring.current_id
        rows: Sequence[Message | ClaimContext] = session.scalars(  # type: ignore[assignment]
            select(model).where(model.kek_id.is_not(None), model.kek_id != current)
            .limit(size).with_for_update(skip_locked=True)).all()
        for row in rows:
            if row.kek_id is not None and row.wrapped_key is not None:
                row.kek_id, row.wrapped_key = sealing.rewrap(row.wrapped_key, row.kek_id,
                                                             self._keyring)
        return rows


def _log_expired(rows: Sequence[Row[str, Module, str, str]]) -> None:
    """One line per message whose content expired unread (metadata only), once committed."""
    for row in rows:
        log.info("expired", extra={"message_id": row.id, "service": row.module.value,
                                   "type": row.type_code, "recipient": row.recipient_id})
