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
``skp_kek_epochs``                                         live KEKs (key store)
``skp_kek_oldest_age_seconds``                             age of the oldest live KEK
==================================  =====================  ===================================

A quota refusal's ``kind`` is ``rate`` (the sender's send rate, ``Client.RateLimited``) or
``mailbox`` (the recipient's mailbox limit, ``Client.MailboxFull``); ``skp_faults_total``
counts the same refusals by fault code, together with those of every other operation.

The e-mail notifications (skp.notifications), all read from the database: the counters
``skp_notifications_sent_total`` (accepted by the mail server), ``skp_notification_failures_total``
(attempts that failed and are retried) and ``skp_notifications_dropped_total`` (``reason``
``refused`` for good or ``stale``), each by ``kind`` (``new`` messages or ``reminder``), and
the gauges ``skp_notifications_pending`` and ``skp_notifications_oldest_pending_age_seconds``
of the outbox.

The backlog, the certificates and the expired count are read from the database at scrape time,
with one query each, so they are the same whichever server process answers the scrape (and
count what ``skp purge`` did from cron); the KEKs are read from the key store at scrape time
(alert when the oldest outlives the longest deadline plus an epoch: the destruction stopped).
The other counters count what this process did.

The worker processes of one ``skp serve`` (``SKP_WORKERS``) count into files in one directory
of that run (prometheus_client's multiprocess mode, :func:`share`): a scrape, whichever worker
answers it, sums the counters and histograms of every worker, those that have exited included,
under the same names, and reads the database's series once.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Literal, Protocol, TypeVarTuple, get_args

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
    values,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import Row, Select, func, select
from sqlalchemy import exc as sa_exc
from sqlalchemy.orm import Session, sessionmaker

from skp import identities
from skp.clock import Clock
from skp.domain.catalogue import message_types
from skp.domain.lifecycle import State
from skp.domain.roles import Module
from skp.errors import SkpError
from skp.keystore import KeyStore
from skp.store import counters
from skp.store.models import Certificate, IdentityLease, Message, Participant, RegisterVersion
from skp.store.notification import KINDS, outbox
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
                 operations: Iterable[str] | None = None,
                 directory: Path | None = None, keystore: KeyStore | None = None) -> None:
        """``directory``: count into the files of the run in it, shared by every worker
        process of one ``skp serve`` (:func:`share`)."""
        if directory is not None:
            share(directory)
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
        self._scraped = self.registry
        if directory is not None:  # every process's counts from the files, the database once
            self._scraped = CollectorRegistry()
            multiprocess.MultiProcessCollector(  # type: ignore[no-untyped-call]
                self._scraped, path=str(directory))
        collectors: list[Collector] = [
            BacklogCollector(sessions, clock), ExpiredCollector(sessions),
            CertificateCollector(sessions, clock), NotificationCollector(sessions, clock),
            IdentityCollector(sessions, clock)]
        if keystore is not None:
            collectors.append(KeyStoreCollector(keystore, clock))
        for collector in collectors:
            self.registry.register(collector)
            if self._scraped is not self.registry:
                self._scraped.register(collector)

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
        return generate_latest(self._scraped), CONTENT_TYPE_LATEST


def share(directory: Path) -> None:
    """Count every metric made from now on into ``directory``, as do the processes started
    from now on (the environment passes it on): prometheus_client's multiprocess mode, which
    it otherwise chooses once, when it is first imported."""
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(directory)
    values.ValueClass = values.get_value_class()  # type: ignore[no-untyped-call]


def process_gone(directory: Path, pid: int) -> None:
    """A process that counted into ``directory`` has exited: its counts stay in the sums."""
    multiprocess.mark_process_dead(pid, str(directory))  # type: ignore[no-untyped-call]


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


class IdentityCollector:
    """The server processes that keep callers' identities (a current lease) and, of those, the
    ones behind the register: a process behind for long holds up every register command
    (skp.identities)."""

    def __init__(self, sessions: sessionmaker[Session], clock: Clock) -> None:
        self._sessions = sessions
        self._clock = clock

    def describe(self) -> Iterable[Metric]:
        return self._families()

    def collect(self) -> Iterable[Metric]:
        leases, behind = self._families()
        register = select(RegisterVersion.version).scalar_subquery()
        query = (select(func.count(), func.count().filter(IdentityLease.version < register))
                 .where(IdentityLease.renewed_at > identities.Now() - identities.LEASE))
        scraped = _scrape(self._sessions, self._clock, query, "identity lease")
        if scraped is not None:
            (current, late), = scraped[1]
            leases.add_metric([], current)
            behind.add_metric([], late)
        return [leases, behind]

    @staticmethod
    def _families() -> tuple[GaugeMetricFamily, GaugeMetricFamily]:
        return (GaugeMetricFamily("skp_identity_leases",
                                  "Server processes keeping callers' identities"),
                GaugeMetricFamily("skp_identity_leases_behind",
                                  "Of them, those that have not applied the register's last "
                                  "change"))


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


class KeyStoreCollector:
    """The live KEKs and the age of the oldest, read from the key store when scraped."""

    def __init__(self, keystore: KeyStore, clock: Clock) -> None:
        self._keystore = keystore
        self._clock = clock

    def describe(self) -> Iterable[Metric]:
        return list(self._families())

    def collect(self) -> Iterable[Metric]:
        count, age = self._families()
        try:
            epochs = self._keystore.epochs()
        except (SkpError, OSError, RuntimeError) as exc:  # an HSM's errors are RuntimeErrors
            log.warning("key store query failed: %s", type(exc).__name__)
            return [count, age]
        count.add_metric([], float(len(epochs)))
        if epochs:
            oldest = min(e.created_at for e in epochs)
            age.add_metric([], max((self._clock.now() - oldest).total_seconds(), 0.0))
        return [count, age]

    @staticmethod
    def _families() -> tuple[GaugeMetricFamily, GaugeMetricFamily]:
        return (GaugeMetricFamily("skp_kek_epochs", "Live key-encryption keys (one per epoch "
                                  "whose content may still be stored)"),
                GaugeMetricFamily("skp_kek_oldest_age_seconds",
                                  "Age of the oldest live key-encryption key"))


class NotificationCollector:
    """The e-mail notifications from the database: the outcome counters (skp.store.counters)
    and the outbox's pending mails, the same whichever process sent them."""

    def __init__(self, sessions: sessionmaker[Session], clock: Clock) -> None:
        self._sessions = sessions
        self._clock = clock

    def describe(self) -> Iterable[Metric]:
        return list(self._families())

    def collect(self) -> Iterable[Metric]:
        sent, failed, dropped, pending, age = families = self._families()
        try:
            with transaction(self._sessions, read_only=True) as session:
                now = self._clock.now()
                box = outbox(session)
        except (SkpError, sa_exc.SQLAlchemyError) as exc:
            log.warning("notification query failed: %s", type(exc).__name__)
            return []
        counts, oldest = box.outcomes, box.oldest
        for kind in KINDS:  # every series from the start, at 0
            sent.add_metric([kind], counts.get((kind, "sent"), 0))
            failed.add_metric([kind], counts.get((kind, "failed"), 0))
            for reason in ("refused", "stale"):
                dropped.add_metric([kind, reason], counts.get((kind, reason), 0))
        pending.add_metric([], float(box.pending))
        age.add_metric([], max((now - oldest).total_seconds(), 0.0) if oldest else 0.0)
        return list(families)

    @staticmethod
    def _families() -> tuple[CounterMetricFamily, CounterMetricFamily, CounterMetricFamily,
                             GaugeMetricFamily, GaugeMetricFamily]:
        return (CounterMetricFamily("skp_notifications_sent",
                                    "E-mail notifications accepted by the mail server",
                                    labels=["kind"]),
                CounterMetricFamily("skp_notification_failures",
                                    "Attempts to send an e-mail notification that failed "
                                    "(retried at the next run)", labels=["kind"]),
                CounterMetricFamily("skp_notifications_dropped",
                                    "E-mail notifications not sent: refused by the mail server "
                                    "for good, or stale", labels=["kind", "reason"]),
                GaugeMetricFamily("skp_notifications_pending",
                                  "E-mail notifications waiting in the outbox"),
                GaugeMetricFamily("skp_notifications_oldest_pending_age_seconds",
                                  "Age of the oldest e-mail notification waiting"))


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
