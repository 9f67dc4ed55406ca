"""The scheduler's key epochs: start a new KEK when the current one's epoch is over, and
destroy the KEKs of ended epochs once nothing uses them or their last deadline has passed
(the rule is :mod:`skp.domain.epochs`). Logged with KEK ids and counts only."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from skp.config import Settings
from skp.domain import epochs
from skp.domain.calendar import WorkingDayCalendar
from skp.errors import SkpError
from skp.keystore import KeyStore
from skp.store.keys import wrapped_keys

log = logging.getLogger("skp.keystore")
#: What a key store raises when it cannot change: a read-only KEK file, an HSM that refuses
#: (python-pkcs11's errors are RuntimeErrors).
_STORE_ERRORS = (OSError, SkpError, RuntimeError)


@dataclass(frozen=True)
class EpochResult:
    """What one turn did: the KEK it created (if any) and the ones it destroyed."""

    created: str | None
    destroyed: tuple[str, ...]


def turn(store: KeyStore, sessions: sessionmaker[Session], settings: Settings,
         now: dt.datetime) -> EpochResult:
    """Create and destroy KEKs as :func:`skp.domain.epochs.plan` says at ``now``."""
    in_use = wrapped_keys(sessions)
    plan = epochs.plan(store.epochs(), store.current_id, now, length=settings.kek_epoch,
                       in_use=in_use,
                       calendar=WorkingDayCalendar(settings.extra_non_working_days),
                       working_days=settings.working_days,
                       reply_working_days=settings.reply_working_days)
    created = None
    if plan.create:
        previous = store.current_id
        try:
            created = store.create(now).kek_id
        except _STORE_ERRORS as exc:
            # Content keeps being sealed under the current KEK; skp_kek_oldest_age_seconds
            # shows it growing. The next turn tries again.
            log.warning("kek not created: %s", type(exc).__name__, extra={"kek": previous})
        else:
            log.info("kek created", extra={"kek": created, "previous": previous})
    destroyed = []
    for kek_id, why in plan.destroy.items():
        try:
            store.destroy(kek_id)
        except _STORE_ERRORS as exc:
            log.warning("kek not destroyed: %s", type(exc).__name__, extra={"kek": kek_id})
            continue
        destroyed.append(kek_id)
        # "deadline" with data keys left: content past every deadline the purge had not yet
        # deleted; it is unreadable from now on, like every other copy of the epoch's content.
        log.info("kek destroyed", extra={"kek": kek_id, "reason": why,
                                         "data_keys": in_use.get(kek_id, 0)})
    return EpochResult(created, tuple(destroyed))
