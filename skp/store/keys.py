"""Which KEKs the stored data keys are wrapped by: what `skp keys` may retire."""

from __future__ import annotations

from collections import Counter

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from skp.store.models import ClaimContext, Message
from skp.store.session import transaction


def wrapped_keys(sessions: sessionmaker[Session]) -> Counter[str]:
    """The number of stored data keys per KEK id (a message's, a claim context's)."""
    counts: Counter[str] = Counter()
    with transaction(sessions, read_only=True) as session:
        for model in (Message, ClaimContext):
            query = (select(model.kek_id, func.count()).where(model.kek_id.is_not(None))
                     .group_by(model.kek_id))
            for kek_id, count in session.execute(query):
                counts[str(kek_id)] += count
    return counts
