"""The participant register: organisations, their modules and their client certificates.

Identity is decided here: a verified client certificate identifies a caller only when its
SHA-256 fingerprint is registered, it is neither expired nor revoked, and its participant is
active.
"""

from __future__ import annotations

import datetime as dt
import functools
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from sqlalchemy import Row, Select, bindparam, event, select
from sqlalchemy.orm import Session, sessionmaker

from skp.certificates import load_bundle
from skp.clock import Clock, SystemClock
from skp.domain import admission, register
from skp.domain.admission import Standing
from skp.domain.retention import validate_extension
from skp.domain.roles import Module, Role, may_enable
from skp.domain.routing import Party
from skp.errors import AuthenticationError, NotAllowed, NotFound, SchemaInvalid
from skp.identities import Identities, Kept
from skp.store.models import Certificate, Participant, ParticipantModule
from skp.store.organisation import AuditEvent
from skp.store.session import statements, transaction
from skp.store.types import canonical_id, chunks


@dataclass(frozen=True)
class ParticipantInfo:
    id: str
    name: str
    role: Role
    modules: frozenset[Module]
    uses_bsn: bool
    extension_days: int
    active: bool
    kvk_nummer: str | None = None
    vestigingsnummer: str | None = None
    standing: Standing = Standing.ACTIVE

    @property
    def party(self) -> Party:
        return Party(self.id, self.role, self.modules, self.uses_bsn,
                     active=self.standing is Standing.ACTIVE,
                     test_partner=self.id in test_partner_ids())

    @classmethod
    def of(cls, row: Participant | Row[Any],
           modules: frozenset[Module] | None = None) -> ParticipantInfo:
        """From a participant, or from a row of its columns with its ``modules``."""
        return cls(row.id, row.name, row.role, row.module_set if modules is None else modules,
                   row.uses_bsn, row.extension_days, row.active, row.kvk_nummer,
                   row.vestigingsnummer, Standing(row.standing))


@functools.cache
def test_partner_ids() -> frozenset[str]:
    """The ids of the hub's built-in test partners (skp.partner), whether the hub runs them
    or not; a constant, built once (every send asks it for both parties)."""
    from skp.partner import PARTNERS  # skp.partner builds on this module

    return frozenset(p.id for p in PARTNERS)


@dataclass(frozen=True)
class CertificateInfo:
    fingerprint: str
    participant_id: str
    subject: str
    issuer: str
    serial: str
    not_before: dt.datetime
    not_after: dt.datetime
    revoked_at: dt.datetime | None


def fingerprint(certificate: x509.Certificate) -> str:
    """The SHA-256 fingerprint of a certificate's DER encoding, lowercase hex."""
    return certificate.fingerprint(hashes.SHA256()).hex()


def load_certificate(data: bytes) -> x509.Certificate:
    """Parse a PEM or DER certificate (of a PEM bundle, the first); SchemaInvalid when it is
    neither."""
    return load_bundle(data)[0]


class Participants:
    """Service over the participant and certificate tables."""

    def __init__(self, sessions: sessionmaker[Session], clock: Clock | None = None) -> None:
        self._sessions = sessions
        self._clock = clock or SystemClock()
        #: What a server process keeps of the register (skp.identities): its callers'
        #: identities, by fingerprint, and the parties of its sends, by id.
        self.identities = Identities(sessions)
        self._by_fingerprint: Kept[Identity] = self.identities.kept()
        self._by_id: Kept[ParticipantInfo] = self.identities.kept()
        event.listen(sessions, "after_flush", self._noted)
        event.listen(sessions, "after_commit", self._committed)

    def add(self, *, name: str, role: Role, modules: Iterable[Module] = (),
            uses_bsn: bool = False, extension_days: int = 0, kvk_nummer: str | None = None,
            vestigingsnummer: str | None = None, participant_id: str | None = None,
            standing: Standing = Standing.REGISTERED) -> ParticipantInfo:
        """Register a participant with the given modules switched on: ``registered`` (its
        certificates work, to be tested and accepted), or ``active`` for one the hub vouches for
        itself (the test partners, the demo cast)."""
        if standing not in (Standing.REGISTERED, Standing.ACTIVE):
            raise SchemaInvalid("a participant is registered as registered or active")
        wanted = frozenset(modules)
        for module in wanted:
            _check_module(role, module)
        if participant_id is None:
            participant_id = str(uuid.uuid4())
        elif (key := canonical_id(participant_id)) is None:
            raise SchemaInvalid("a participant id is a UUID")
        else:
            participant_id = key
        row = Participant(
            id=participant_id,
            name=_checked(register.participant_name, name), role=role, uses_bsn=uses_bsn,
            extension_days=_extension(extension_days),
            kvk_nummer=_optional(register.kvk_nummer, kvk_nummer),
            vestigingsnummer=_optional(register.vestigingsnummer, vestigingsnummer),
            active=True, standing=standing, created_at=self._clock.now(),
            modules=[ParticipantModule(module=m) for m in sorted(wanted)],
        )
        with transaction(self._sessions) as session:
            if session.get(Participant, row.id) is not None:
                raise SchemaInvalid(f"participant {row.id} already exists")
            session.add(row)
            session.flush()
            return ParticipantInfo.of(row)

    def get(self, participant_id: str) -> ParticipantInfo:
        with transaction(self._sessions, read_only=True) as session:
            return ParticipantInfo.of(_row(session, participant_id))

    def all(self) -> list[ParticipantInfo]:
        with transaction(self._sessions, read_only=True) as session:
            rows = session.scalars(select(Participant).order_by(Participant.name))
            return [ParticipantInfo.of(row) for row in rows]

    def enable_module(self, participant_id: str, module: Module) -> ParticipantInfo:
        with transaction(self._sessions) as session:
            row = _row(session, participant_id)
            _check_module(row.role, module)
            if module not in row.module_set:
                row.modules.append(ParticipantModule(module=module))
            session.flush()
            return ParticipantInfo.of(row)

    def disable_module(self, participant_id: str, module: Module) -> ParticipantInfo:
        with transaction(self._sessions) as session:
            row = _row(session, participant_id)
            row.modules = [m for m in row.modules if m.module != module]
            session.flush()
            return ParticipantInfo.of(row)

    def set_extension(self, participant_id: str, days: int) -> ParticipantInfo:
        """Verlengen afhandeltermijn: applies to messages received from now on."""
        with transaction(self._sessions) as session:
            row = _row(session, participant_id)
            row.extension_days = _extension(days)
            return ParticipantInfo.of(row)

    def update(self, participant_id: str, *, name: str | None = None,
               kvk_nummer: str | None = None, vestigingsnummer: str | None = None,
               uses_bsn: bool | None = None) -> ParticipantInfo:
        """Change what is given (None: leave as it is); a KvK number given as "" is removed."""
        with transaction(self._sessions) as session:
            row = _row(session, participant_id)
            if name is not None:
                row.name = _checked(register.participant_name, name)
            if kvk_nummer is not None:
                row.kvk_nummer = _optional(register.kvk_nummer, kvk_nummer or None)
            if vestigingsnummer is not None:
                row.vestigingsnummer = _optional(register.vestigingsnummer,
                                                 vestigingsnummer or None)
            if uses_bsn is not None:
                row.uses_bsn = uses_bsn
            session.flush()
            return ParticipantInfo.of(row)

    def deactivate(self, participant_id: str) -> ParticipantInfo:
        return self._move(participant_id, admission.deactivate)

    def reactivate(self, participant_id: str) -> ParticipantInfo:
        """Give a deactivated participant access again (with its unexpired, unrevoked
        certificates)."""
        return self._move(participant_id, admission.reactivate)

    def activate(self, participant_id: str, *, without_acceptance: bool = False
                 ) -> ParticipantInfo:
        """Make an accepted participant active; one without a passed acceptance run only
        ``without_acceptance``, which the audit trail records."""
        with transaction(self._sessions) as session:
            row = _row(session, participant_id)
            before = Standing(row.standing)
            row.standing = admission.activate(before, without_acceptance=without_acceptance)
            row.active = row.standing.has_access
            if before is not Standing.ACTIVE:
                session.add(AuditEvent(
                    at=self._clock.now(), actor="operator", kvk_nummer=row.kvk_nummer,
                    action=("participant.activated" if before is Standing.ACCEPTED
                            else "participant.activated_without_acceptance"),
                    subject=f"participant:{row.id} was:{before}"))
            return ParticipantInfo.of(row)

    def move(self, session: Session, participant_id: str,
             change: Callable[[Standing], Standing]) -> Participant:
        """Change a participant's standing by the rule ``change``, in ``session``."""
        row = _row(session, participant_id)
        row.standing = change(Standing(row.standing))
        row.active = row.standing.has_access
        return row

    def _move(self, participant_id: str, change: Callable[[Standing], Standing]
              ) -> ParticipantInfo:
        with transaction(self._sessions) as session:
            return ParticipantInfo.of(self.move(session, participant_id, change))

    def add_certificate(self, participant_id: str, data: bytes) -> CertificateInfo:
        """Register a client certificate (PEM or DER) for a participant."""
        cert = load_certificate(data)
        with transaction(self._sessions) as session:
            owner = _row(session, participant_id)
            row = Certificate(
                fingerprint=fingerprint(cert), participant_id=owner.id,
                subject=cert.subject.rfc4514_string(), issuer=cert.issuer.rfc4514_string(),
                serial=format(cert.serial_number, "x"), not_before=cert.not_valid_before_utc,
                not_after=cert.not_valid_after_utc, revoked_at=None,
                added_at=self._clock.now(),
            )
            if session.get(Certificate, row.fingerprint) is not None:
                raise SchemaInvalid(f"certificate {row.fingerprint} is already registered")
            session.add(row)
            return _cert_info(row)

    def revoke_certificate(self, fp: str, at: dt.datetime | None = None) -> CertificateInfo:
        with transaction(self._sessions) as session:
            row = session.get(Certificate, fp.lower())
            if row is None:
                raise NotFound(f"no certificate with fingerprint {fp}")
            when = at or self._clock.now()
            # A revocation is never postponed: the earliest date stands.
            row.revoked_at = when if row.revoked_at is None else min(row.revoked_at, when)
            return _cert_info(row)

    def certificates(self, participant_id: str | None = None) -> list[CertificateInfo]:
        with transaction(self._sessions, read_only=True) as session:
            query = select(Certificate).order_by(Certificate.not_after)
            if participant_id is not None:
                query = query.where(Certificate.participant_id == _row(session,
                                                                       participant_id).id)
            return [_cert_info(row) for row in session.scalars(query)]

    def identify(self, fp: str) -> ParticipantInfo:
        """The active participant whose valid certificate has fingerprint ``fp``."""
        fp = fp.lower()
        found = self._by_fingerprint.get(fp)
        if found is None:
            generation = self.identities.generation()
            # One Core query for the certificate, its participant and the participant's
            # modules (a row per module); a server process keeps it (skp.identities).
            with statements(self._sessions) as connection:
                rows = connection.execute(_IDENTIFY, {"fingerprint": fp}).all()
            if not rows:
                raise AuthenticationError("this client certificate is not registered at the hub")
            first = rows[0]
            found = Identity(by_id(rows)[first.id], first.not_before, first.not_after,
                             first.revoked_at)
            self._by_fingerprint.keep(fp, found, generation)
        return found.admitted(self._clock.now())

    def active(self, ids: Sequence[str]) -> dict[str, ParticipantInfo]:
        """The active participants among ``ids`` (canonical), by id: what a server process
        kept, and the rest read a chunk at a time (the sender and recipient of a send, those of
        a batch)."""
        found: dict[str, ParticipantInfo] = {}
        missing = []
        for key in ids:
            kept = self._by_id.get(key)
            if kept is None:
                missing.append(key)
            else:
                found[key] = kept
        if missing:
            generation = self.identities.generation()
            with statements(self._sessions) as connection:
                for chunk in chunks(missing):
                    for key, info in by_id(connection.execute(_BY_ID, {"ids": chunk})).items():
                        self._by_id.keep(key, info, generation)
                        found[key] = info
        return {key: info for key, info in found.items() if info.active}

    def _noted(self, session: Session, _context: Any) -> None:
        """After a flush: whether it changed the register."""
        if any(isinstance(row, _REGISTER)
               for rows in (session.new, session.dirty, session.deleted) for row in rows):
            session.info[_CHANGED] = True

    def _committed(self, session: Session) -> None:
        if session.info.pop(_CHANGED, False):
            self.identities.forget()


@dataclass(frozen=True)
class Identity:
    """What a request's identity lookup finds of a registered certificate."""

    info: ParticipantInfo
    not_before: dt.datetime
    not_after: dt.datetime
    revoked_at: dt.datetime | None

    def admitted(self, now: dt.datetime) -> ParticipantInfo:
        """Its participant, if the certificate lets it in at ``now``."""
        if self.revoked_at is not None and self.revoked_at <= now:
            raise AuthenticationError("this client certificate has been revoked")
        if not self.not_before <= now <= self.not_after:  # RFC 5280: both inclusive
            raise AuthenticationError("this client certificate is expired or not yet valid")
        if not self.info.active:
            raise AuthenticationError("the participant of this certificate is not active")
        return self.info


_REGISTER = (Participant, ParticipantModule, Certificate)
_CHANGED = "skp.register_changed"


def with_modules(*columns: Any) -> Select[Any]:
    """A Core query of ``columns`` and the participant's columns that :class:`ParticipantInfo`
    holds, a row per module of it (one row with ``module`` None when it has none): read with
    :func:`by_id`."""
    return (select(*columns, *_INFO_COLUMNS, ParticipantModule.module)
            .outerjoin_from(Participant, ParticipantModule,
                            ParticipantModule.participant_id == Participant.id))


#: What :meth:`ParticipantInfo.of` reads of a row: not the search name or the time of
#: registration, which every request's identity lookup would otherwise fetch and decode.
_INFO_COLUMNS = (Participant.id, Participant.name, Participant.role, Participant.uses_bsn,
                 Participant.extension_days, Participant.active, Participant.kvk_nummer,
                 Participant.vestigingsnummer, Participant.standing)


def by_id(rows: Iterable[Row[Any]]) -> dict[str, ParticipantInfo]:
    """The participants in rows of :func:`with_modules`, by id."""
    found: dict[str, tuple[Row[Any], set[Module]]] = {}
    for row in rows:
        _, modules = found.setdefault(row.id, (row, set()))
        if row.module is not None:
            modules.add(row.module)
    return {key: ParticipantInfo.of(row, frozenset(modules))
            for key, (row, modules) in found.items()}


_BY_ID = with_modules().where(Participant.id.in_(bindparam("ids", expanding=True)))

_IDENTIFY = (
    with_modules(Certificate.revoked_at, Certificate.not_before, Certificate.not_after)
    .join(Certificate, Certificate.participant_id == Participant.id)
    .where(Certificate.fingerprint == bindparam("fingerprint")))


def _row(session: Session, participant_id: str) -> Participant:
    key = canonical_id(participant_id)
    row = session.get(Participant, key) if key else None
    if row is None:
        raise NotFound(f"no participant {participant_id}")
    return row


def _check_module(role: Role, module: Module) -> None:
    if not may_enable(role, module):
        raise NotAllowed(f"a participant with role {role} cannot take part in module {module}")


def _checked(rule: Callable[[str], str], value: str) -> str:
    """``value`` as the register's ``rule`` accepts it; SchemaInvalid when it does not."""
    try:
        return rule(value)
    except ValueError as exc:
        raise SchemaInvalid(str(exc)) from exc


def _optional(rule: Callable[[str], str], value: str | None) -> str | None:
    return None if value is None else _checked(rule, value)


def _extension(days: int) -> int:
    try:
        return validate_extension(days)
    except ValueError as exc:
        raise SchemaInvalid("the extension is 0, 7, 14 or 28 days") from exc


def _cert_info(row: Certificate) -> CertificateInfo:
    return CertificateInfo(row.fingerprint, row.participant_id, row.subject, row.issuer,
                           row.serial, row.not_before, row.not_after, row.revoked_at)
