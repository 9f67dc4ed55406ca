"""Prometheus metrics of one hub: message counters, request latency, faults and backlog.

Every :class:`Metrics` holds its own ``CollectorRegistry``, never prometheus_client's global
one, so several hubs (and tests) in one process do not clash. Names and labels carry metadata
only: module, message type, operation, fault code and participant ids; never content.

==================================  =====================  ===================================
metric                              labels                 meaning
==================================  =====================  ===================================
``skp_messages_sent_total``         module, type           new messages (repeats not counted)
``skp_messages_fetched_total``      module, type           first fetches
``skp_messages_confirmed_total``    module, type           confirmations (repeats not counted)
``skp_messages_expired_total``      module, type           purged unconfirmed at the deadline (db)
``skp_request_duration_seconds``    operation              HTTP requests, by SOAPAction/route
``skp_faults_total``                code                   SOAP faults by fault code
``skp_quota_refusals_total``        kind, module           new messages a quota refused
``skp_backlog_messages``            recipient              queued or fetched, not confirmed
``skp_backlog_oldest_age_seconds``  recipient              age of the oldest of those
``skp_certificate_expiry_seconds``  participant            until its last valid cert expires
==================================  =====================  ===================================

A quota refusal's ``kind`` is ``rate`` (the sender's send rate, ``Client.RateLimited``) or
``mailbox`` (the recipient's mailbox limit, ``Client.MailboxFull``); ``skp_faults_total``
counts the same refusals by fault code, together with those of every other operation.

The backlog, the certificates and the expired count are read from the database at scrape time,
with one query each, so they are the same whichever server process answers the scrape (and
count what ``skp purge`` did from cron); the other counters count what this process did.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Iterable, Sequence
from typing import Literal, Protocol, TypeVarTuple, get_args

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from sqlalchemy import Row, Select, func, select
from sqlalchemy import exc as sa_exc
from sqlalchemy.orm import Session, sessionmaker

from skp.clock import Clock
from skp.domain.catalogue import message_types
from skp.domain.lifecycle import State
from skp.domain.roles import Module
from skp.errors import SkpError
from skp.store import counters
from skp.store.models import Certificate, Message, Participant
from skp.store.session import transaction

log = logging.getLogger(__name__)
Columns = TypeVarTuple("Columns")

#: The mailbox operations every module's service has besides ``Verstuur<Berichttype>``.
MAILBOX_OPERATIONS = ("Berichtenlijst", "HaalBerichtOp", "BevestigOntvangst", "Status",
                      "Logboek", "ZoekDeelnemers", "Deelnemer", "Ping", "Acceptatiestatus")
#: Operation labels of the requests that are not SOAP calls.
ROUTES = ("wsdl", "healthz", "metrics", "deelnemers")
#: The label of every operation outside the known set (keeps the label set bounded).
OTHER = "other"

#: What refused a message: the sender's send rate or the recipient's mailbox limit.
QuotaKind = Literal["rate", "mailbox"]
QUOTA_KINDS: tuple[QuotaKind, ...] = get_args(QuotaKind)

_FAULT_CODE = re.compile(r"(Client|Server)\.[A-Za-z]{1,40}")
_PENDING = (State.QUEUED, State.FETCHED)


def known_operations() -> frozenset[str]:
    """Every operation label: the SOAP operations of all modules and the other routes."""
    sends = {f"Verstuur{mt.code}" for module in Module for mt in message_types(module)}
    return frozenset(sends | set(MAILBOX_OPERATIONS) | set(ROUTES))


class MailboxMetrics(Protocol):
    """What the mailbox reports, after each transaction that committed."""

    def sent(self, module: Module, type_code: str) -> None:
        """A new message was stored."""

    def fetched(self, module: Module, type_code: str) -> None:
        """A message was fetched for the first time."""

    def confirmed(self, module: Module, type_code: str) -> None:
        """A message was confirmed (not an idempotent repeat)."""

    def refused(self, kind: QuotaKind, module: Module) -> None:
        """A quota of ``kind`` refused a new message in ``module``."""


class NullMetrics:
    """The do-nothing twin of :class:`Metrics`, for a mailbox built on its own."""

    def sent(self, module: Module, type_code: str) -> None:
        pass

    def fetched(self, module: Module, type_code: str) -> None:
        pass

    def confirmed(self, module: Module, type_code: str) -> None:
        pass

    def refused(self, kind: QuotaKind, module: Module) -> None:
        pass


class Metrics:
    """The hub's metrics in a registry of their own; :meth:`render` is the scrape."""

    def __init__(self, sessions: sessionmaker[Session], clock: Clock, *,
                 operations: Iterable[str] | None = None) -> None:
        self.registry = CollectorRegistry()
        self.operations = frozenset(known_operations() if operations is None else operations)
        labels = ("module", "type")
        self._sent = Counter("skp_messages_sent_total", "Messages accepted (repeats excluded)",
                             labels, registry=self.registry)
        self._fetched = Counter("skp_messages_fetched_total", "Messages fetched the first time",
                                labels, registry=self.registry)
        self._confirmed = Counter("skp_messages_confirmed_total", "Messages confirmed",
                                  labels, registry=self.registry)
        self._duration = Histogram("skp_request_duration_seconds",
                                   "HTTP request duration by SOAP operation or route",
                                   ("operation",), registry=self.registry)
        self._faults = Counter("skp_faults_total", "SOAP faults returned, by fault code",
                               ("code",), registry=self.registry)
        self._refused = Counter("skp_quota_refusals_total",
                                "New messages refused by a quota (rate: the sender's send "
                                "rate; mailbox: the recipient's mailbox limit)",
                                ("kind", "module"), registry=self.registry)
        # Every series exists from the start at 0, so rate() sees the first message too.
        for module in Module:
            for kind in QUOTA_KINDS:
                self._refused.labels(kind, module.value)
            for mt in message_types(module):
                for counter in (self._sent, self._fetched, self._confirmed):
                    counter.labels(module.value, mt.code)
        self.registry.register(BacklogCollector(sessions, clock))
        self.registry.register(ExpiredCollector(sessions))
        self.registry.register(CertificateCollector(sessions, clock))

    # --- MailboxMetrics --------------------------------------------------------------------

    def sent(self, module: Module, type_code: str) -> None:
        self._sent.labels(module.value, type_code).inc()

    def fetched(self, module: Module, type_code: str) -> None:
        self._fetched.labels(module.value, type_code).inc()

    def confirmed(self, module: Module, type_code: str) -> None:
        self._confirmed.labels(module.value, type_code).inc()

    def refused(self, kind: QuotaKind, module: Module) -> None:
        self._refused.labels(kind, module.value).inc()

    # --- requests --------------------------------------------------------------------------

    def observe_request(self, operation: str | None, seconds: float,
                        fault: str | None = None) -> None:
        """One HTTP request: its duration, and its fault code when it ended in a fault.

        Unknown operations count as ``other`` and malformed fault codes as ``other``: labels
        never take arbitrary client input.
        """
        label = operation if operation in self.operations else OTHER
        self._duration.labels(label).observe(max(seconds, 0.0))
        if fault is not None:
            self._faults.labels(fault if _FAULT_CODE.fullmatch(fault) else OTHER).inc()

    def render(self) -> tuple[bytes, str]:
        """The scrape: the text exposition format and its content type."""
        return generate_latest(self.registry), CONTENT_TYPE_LATEST


class BacklogCollector:
    """Backlog per recipient, read from the database when scraped (one grouped query)."""

    def __init__(self, sessions: sessionmaker[Session], clock: Clock) -> None:
        self._sessions = sessions
        self._clock = clock

    def describe(self) -> Iterable[Metric]:
        return list(self._families())

    def collect(self) -> Iterable[Metric]:
        count, age = self._families()
        query = (select(Message.recipient_id, func.count(), func.min(Message.received_at))
                 .where(Message.state.in_(_PENDING)).group_by(Message.recipient_id))
        scraped = _scrape(self._sessions, self._clock, query, "backlog")
        if scraped is None:
            return [count, age]
        now, rows = scraped
        for recipient, pending, oldest in rows:
            count.add_metric([str(recipient)], float(pending))
            age.add_metric([str(recipient)], max((now - oldest).total_seconds(), 0.0))
        return [count, age]

    @staticmethod
    def _families() -> tuple[GaugeMetricFamily, GaugeMetricFamily]:
        return (GaugeMetricFamily("skp_backlog_messages",
                                  "Messages queued or fetched but not confirmed, per recipient",
                                  labels=["recipient"]),
                GaugeMetricFamily("skp_backlog_oldest_age_seconds",
                                  "Age of the oldest unconfirmed message, per recipient",
                                  labels=["recipient"]))


class CertificateCollector:
    """Seconds until the last unrevoked certificate of each active participant expires
    (negative once all have): alert on it before a participant loses access."""

    def __init__(self, sessions: sessionmaker[Session], clock: Clock) -> None:
        self._sessions = sessions
        self._clock = clock

    def describe(self) -> Iterable[Metric]:
        return [self._family()]

    def collect(self) -> Iterable[Metric]:
        family = self._family()
        query = (select(Certificate.participant_id, func.max(Certificate.not_after))
                 .join(Participant, Participant.id == Certificate.participant_id)
                 .where(Participant.active, Certificate.revoked_at.is_(None))
                 .group_by(Certificate.participant_id))
        scraped = _scrape(self._sessions, self._clock, query, "certificate")
        if scraped is None:
            return [family]
        now, rows = scraped
        for participant, last in rows:
            family.add_metric([str(participant)], (last - now).total_seconds())
        return [family]

    @staticmethod
    def _family() -> GaugeMetricFamily:
        return GaugeMetricFamily("skp_certificate_expiry_seconds",
                                 "Seconds until the participant's last unrevoked certificate "
                                 "expires", labels=["participant"])


class ExpiredCollector:
    """``skp_messages_expired_total`` from the database's counter (skp.store.counters): the
    same in every process, and counting the purges ``skp purge`` ran from cron too."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    def describe(self) -> Iterable[Metric]:
        return [self._family()]

    def collect(self) -> Iterable[Metric]:
        family = self._family()
        try:
            with transaction(self._sessions, read_only=True) as session:
                counts = counters.expired(session)
        except (SkpError, sa_exc.SQLAlchemyError) as exc:
            log.warning("expired count query failed: %s", type(exc).__name__)
            return [family]
        for module in Module:  # every series from the start, at 0
            for mt in message_types(module):
                family.add_metric([module.value, mt.code], counts.get((module, mt.code), 0))
        return [family]

    @staticmethod
    def _family() -> CounterMetricFamily:
        return CounterMetricFamily("skp_messages_expired",
                                   "Messages purged unconfirmed after their deadline",
                                   labels=["module", "type"])


def _scrape(sessions: sessionmaker[Session], clock: Clock, query: Select[*Columns], what: str
            ) -> tuple[dt.datetime, Sequence[Row[*Columns]]] | None:
    """A collector's rows and the time they were read; None when the database fails: a scrape
    must still answer, and the missing series tell the operator (logged by type only)."""
    try:
        with transaction(sessions, read_only=True) as session:
            return clock.now(), session.execute(query).all()
    except (SkpError, sa_exc.SQLAlchemyError) as exc:
        log.warning("%s query failed: %s", what, type(exc).__name__)
        return None
