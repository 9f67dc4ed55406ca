"""Organisations on the portal: employees and the business units they work for, the
administrator's data (IBANs, contact persons, notification addresses) and requests to the
operator. Every change is written to the audit trail in the same transaction.

An organisation is a KvK number; its business units are the participants registered with that
KvK number. Every call names the organisation it acts for, and whatever it touches must belong
to that organisation, else NotFound: an employee of one organisation never reaches another's.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.orm import Session, sessionmaker

from skp.clock import Clock, SystemClock
from skp.domain.organisation import ContactRole, Login, RequestKind, check_request, iban
from skp.domain.roles import Module
from skp.errors import NotFound, SchemaInvalid
from skp.participants import ParticipantInfo, Participants
from skp.store.models import Participant
from skp.store.organisation import (
    AuditEvent,
    BankAccount,
    Contact,
    Employee,
    EmployeeUnit,
    NotificationAddress,
    UnitRequest,
)
from skp.store.session import transaction
from skp.store.types import canonical_id

#: What :meth:`Organisations.message_event` records.
MESSAGE_ACTIONS = frozenset({"message.open", "message.document", "message.confirm",
                             "message.send"})


@dataclass(frozen=True)
class EmployeeInfo:
    id: str
    kvk_nummer: str
    display_name: str
    units: frozenset[str]  # the ids of the business units the employee works for


@dataclass(frozen=True)
class AccountInfo:
    id: str
    participant_id: str
    iban: str  # electronic form, no spaces
    holder: str


@dataclass(frozen=True)
class Subscription:
    """An address subscribed to a unit's notifications, and which it gets."""

    email: str
    new_messages: bool
    reminders: bool


@dataclass(frozen=True)
class ContactInfo:
    id: str
    name: str
    email: str
    phone: str
    role: ContactRole


@dataclass(frozen=True)
class RequestInfo:
    id: str
    participant_id: str
    kind: RequestKind
    value: str
    state: str
    requested_at: dt.datetime
    decided_at: dt.datetime | None
    reason: str | None


class Organisations:
    """The organisations' service over the database."""

    def __init__(self, sessions: sessionmaker[Session], participants: Participants,
                 clock: Clock | None = None) -> None:
        self._sessions = sessions
        self._participants = participants
        self._clock = clock or SystemClock()

    # --- employees and units ---------------------------------------------------------------

    def sign_in(self, login: Login) -> EmployeeInfo:
        """The employee of ``login``, registered at its first login (without a name yet)."""
        now = self._clock.now()
        with transaction(self._sessions) as session:
            row = session.scalar(select(Employee).where(
                Employee.kvk_nummer == login.kvk_nummer,
                Employee.acting_subject == login.acting_subject))
            if row is None:
                row = Employee(id=str(uuid.uuid4()), kvk_nummer=login.kvk_nummer,
                               acting_subject=login.acting_subject, display_name="",
                               created_at=now, last_login_at=now)
                session.add(row)
            row.last_login_at = now
            _audit(session, now, row.id, login.kvk_nummer,
                   "login.beheer" if login.administrator else "login", None)
            session.flush()
            return _employee(session, row)

    def refused(self, kvk_nummer: str | None, reason: str) -> None:
        """Record a login the portal refused (the reason's stable word, no claims)."""
        with transaction(self._sessions) as session:
            _audit(session, self._clock.now(), "login-refused", kvk_nummer,
                   f"login.refused.{reason}", None)

    def name(self, kvk_nummer: str, employee_id: str, display_name: str) -> EmployeeInfo:
        """Set the name an employee goes by (1 to 200 characters)."""
        display_name = " ".join(display_name.split())
        if not 1 <= len(display_name) <= 200:
            raise SchemaInvalid("een naam heeft 1 tot 200 tekens")
        with transaction(self._sessions) as session:
            row = _employee_row(session, kvk_nummer, employee_id)
            row.display_name = display_name
            _audit(session, self._clock.now(), employee_id, kvk_nummer, "employee.name",
                   employee_id)
            return _employee(session, row)

    def employee(self, kvk_nummer: str, employee_id: str) -> EmployeeInfo:
        with transaction(self._sessions, read_only=True) as session:
            return _employee(session, _employee_row(session, kvk_nummer, employee_id))

    def employees(self, kvk_nummer: str) -> list[EmployeeInfo]:
        """The organisation's employees, by name."""
        with transaction(self._sessions, read_only=True) as session:
            rows = session.scalars(select(Employee).where(Employee.kvk_nummer == kvk_nummer)
                                   .order_by(Employee.display_name, Employee.id))
            return [_employee(session, row) for row in rows]

    def units(self, kvk_nummer: str, vestiging: str | None = None) -> list[ParticipantInfo]:
        """The organisation's active business units, by name; only the branch's when the login
        is restricted to one."""
        query = select(Participant.id).where(Participant.kvk_nummer == kvk_nummer,
                                             Participant.active).order_by(Participant.name)
        if vestiging is not None:
            query = query.where(Participant.vestigingsnummer == vestiging)
        with transaction(self._sessions, read_only=True) as session:
            ids = list(session.scalars(query))
        return [self._participants.get(key) for key in ids]

    def unit(self, kvk_nummer: str, participant_id: str) -> ParticipantInfo:
        """One of the organisation's active business units; NotFound for any other."""
        try:
            info = self._participants.get(participant_id)
        except NotFound:
            info = None
        if info is None or info.kvk_nummer != kvk_nummer or not info.active:
            raise NotFound("deze bedrijfseenheid hoort niet bij uw organisatie")
        return info

    def link(self, kvk_nummer: str, admin_id: str, employee_id: str, participant_id: str,
             linked: bool) -> EmployeeInfo:
        """Let the employee work for the business unit (``linked``) or no longer."""
        unit = self.unit(kvk_nummer, participant_id)
        now = self._clock.now()
        with transaction(self._sessions) as session:
            row = _employee_row(session, kvk_nummer, employee_id)
            existing = session.get(EmployeeUnit, (row.id, unit.id))
            if linked and existing is None:
                session.add(EmployeeUnit(employee_id=row.id, participant_id=unit.id,
                                         linked_at=now))
            elif not linked and existing is not None:
                session.delete(existing)
            _audit(session, now, admin_id, kvk_nummer,
                   "employee.link" if linked else "employee.unlink", f"{row.id} {unit.id}")
            session.flush()
            return _employee(session, row)

    # --- the administrator's data ------------------------------------------------------------

    def bank_accounts(self, kvk_nummer: str, participant_id: str) -> list[AccountInfo]:
        unit = self.unit(kvk_nummer, participant_id)
        with transaction(self._sessions, read_only=True) as session:
            return [AccountInfo(a.id, a.participant_id, a.iban, a.holder)
                    for a in session.scalars(select(BankAccount).where(
                        BankAccount.participant_id == unit.id).order_by(BankAccount.added_at))]

    def add_bank_account(self, kvk_nummer: str, admin_id: str, participant_id: str, raw: str,
                         holder: str) -> None:
        """Add an IBAN (validated: ValueError with a reason) with its holder's name."""
        unit = self.unit(kvk_nummer, participant_id)
        compact = iban(raw)
        holder = " ".join(holder.split())
        if not 1 <= len(holder) <= 200:
            raise ValueError("vul de naam van de rekeninghouder in (1 tot 200 tekens)")
        now = self._clock.now()
        with transaction(self._sessions) as session:
            if session.scalar(select(BankAccount.id).where(
                    BankAccount.participant_id == unit.id, BankAccount.iban == compact)):
                raise ValueError("dit IBAN staat al bij deze bedrijfseenheid")
            account = BankAccount(id=str(uuid.uuid4()), participant_id=unit.id, iban=compact,
                                  holder=holder, added_at=now)
            session.add(account)
            _audit(session, now, admin_id, kvk_nummer, "iban.add", f"{unit.id} {account.id}")

    def remove_bank_account(self, kvk_nummer: str, admin_id: str, account_id: str) -> str:
        """Remove an IBAN; the id of the business unit it was of."""
        with transaction(self._sessions) as session:
            account = session.get(BankAccount, _uuid(account_id))
            if account is None:
                raise NotFound("geen rekening met dit kenmerk")
            self.unit(kvk_nummer, account.participant_id)
            session.delete(account)
            _audit(session, self._clock.now(), admin_id, kvk_nummer, "iban.remove",
                   f"{account.participant_id} {account.id}")
            return account.participant_id

    def contacts(self, kvk_nummer: str) -> list[ContactInfo]:
        with transaction(self._sessions, read_only=True) as session:
            return [ContactInfo(c.id, c.name, c.email, c.phone, ContactRole(c.role))
                    for c in session.scalars(select(Contact).where(
                        Contact.kvk_nummer == kvk_nummer).order_by(Contact.name))]

    def add_contact(self, kvk_nummer: str, admin_id: str, *, name: str, email: str, phone: str,
                    role: ContactRole) -> None:
        now = self._clock.now()
        with transaction(self._sessions) as session:
            contact = Contact(id=str(uuid.uuid4()), kvk_nummer=kvk_nummer, name=name,
                              email=email, phone=phone, role=role.value)
            session.add(contact)
            _audit(session, now, admin_id, kvk_nummer, "contact.add", contact.id)

    def remove_contact(self, kvk_nummer: str, admin_id: str, contact_id: str) -> None:
        with transaction(self._sessions) as session:
            contact = session.get(Contact, _uuid(contact_id))
            if contact is None or contact.kvk_nummer != kvk_nummer:
                raise NotFound("geen contactpersoon met dit kenmerk")
            session.delete(contact)
            _audit(session, self._clock.now(), admin_id, kvk_nummer, "contact.remove",
                   contact.id)

    def subscriptions(self, kvk_nummer: str, participant_id: str) -> list[Subscription]:
        """The unit's subscribed addresses and what each gets, by address."""
        unit = self.unit(kvk_nummer, participant_id)
        with transaction(self._sessions, read_only=True) as session:
            return [Subscription(a.email, a.new_messages, a.reminders)
                    for a in session.scalars(select(NotificationAddress).where(
                        NotificationAddress.participant_id == unit.id)
                        .order_by(NotificationAddress.email))]

    def subscribe(self, kvk_nummer: str, admin_id: str, participant_id: str, email: str,
                  subscribed: bool, *, new_messages: bool = True, reminders: bool = True
                  ) -> None:
        """Subscribe an e-mail address to the unit's notifications of new messages and/or
        reminders (again: change what it gets), or unsubscribe it. ValueError when a
        subscription would get neither."""
        unit = self.unit(kvk_nummer, participant_id)
        email = email.strip().lower()
        if subscribed and not (new_messages or reminders):
            raise ValueError("kies nieuwe berichten, herinneringen of allebei")
        with transaction(self._sessions) as session:
            if subscribed:
                found = session.get(NotificationAddress, (unit.id, email))
                if found is None:
                    session.add(NotificationAddress(participant_id=unit.id, email=email,
                                                    new_messages=new_messages,
                                                    reminders=reminders))
                else:
                    found.new_messages, found.reminders = new_messages, reminders
            else:
                session.execute(delete(NotificationAddress).where(
                    NotificationAddress.participant_id == unit.id,
                    NotificationAddress.email == email))
            _audit(session, self._clock.now(), admin_id, kvk_nummer,
                   "notify.add" if subscribed else "notify.remove", unit.id)

    # --- requests to the operator ---------------------------------------------------------------

    def request(self, kvk_nummer: str, admin_id: str, participant_id: str, kind: RequestKind,
                value: str) -> RequestInfo:
        """Ask the operator for a module or an extension (ValueError when it cannot be asked,
        or the same request is open already)."""
        unit = self.unit(kvk_nummer, participant_id)
        value = check_request(kind, value, role=unit.role, modules=unit.modules,
                              extension_days=unit.extension_days)
        now = self._clock.now()
        with transaction(self._sessions) as session:
            if session.scalar(select(UnitRequest.id).where(
                    UnitRequest.participant_id == unit.id, UnitRequest.kind == kind.value,
                    UnitRequest.value == value, UnitRequest.state == "open")):
                raise ValueError("dit verzoek is al ingediend en wacht op de beheerder van "
                                 "het Schuldenknooppunt")
            row = UnitRequest(id=str(uuid.uuid4()), participant_id=unit.id, kind=kind.value,
                              value=value, state="open", requested_by=admin_id,
                              requested_at=now)
            session.add(row)
            _audit(session, now, admin_id, kvk_nummer, f"request.{kind.value}", row.id)
            return _request(row)

    def requests(self, kvk_nummer: str | None = None, *, state: str | None = None
                 ) -> list[RequestInfo]:
        """The requests of an organisation (all organisations when None), newest first."""
        query = select(UnitRequest).order_by(UnitRequest.requested_at.desc(), UnitRequest.id)
        if kvk_nummer is not None:
            query = query.join(Participant, Participant.id == UnitRequest.participant_id).where(
                Participant.kvk_nummer == kvk_nummer)
        if state is not None:
            query = query.where(UnitRequest.state == state)
        with transaction(self._sessions, read_only=True) as session:
            return [_request(row) for row in session.scalars(query)]

    def decide(self, request_id: str, *, approve: bool, reason: str | None = None
               ) -> RequestInfo:
        """The operator's answer to an open request; an approval changes the participant."""
        now = self._clock.now()
        with transaction(self._sessions) as session:
            row = session.get(UnitRequest, _uuid(request_id), with_for_update=True)
            if row is None:
                raise NotFound(f"no request {request_id}")
            if row.state != "open":
                raise SchemaInvalid(f"request {row.id} was {row.state} already")
            row.state, row.decided_at, row.reason = (
                "approved" if approve else "refused"), now, reason
            kvk = session.scalar(select(Participant.kvk_nummer).where(
                Participant.id == row.participant_id))
            _audit(session, now, "operator", kvk, f"request.{row.state}", row.id)
            decided = _request(row)
        if approve and decided.kind is RequestKind.MODULE:
            self._participants.enable_module(decided.participant_id, Module(decided.value))
        elif approve:
            self._participants.set_extension(decided.participant_id, int(decided.value))
        return decided

    def message_event(self, kvk_nummer: str, employee_id: str, action: str,
                      message_id: str) -> None:
        """Record what an employee did with a message on the portal: ``message.open`` (its
        content shown), ``message.document`` (a document downloaded), ``message.confirm``,
        ``message.send``. The message's id only, never its content."""
        if action not in MESSAGE_ACTIONS:
            raise ValueError(f"no audit action {action}")
        with transaction(self._sessions) as session:
            _audit(session, self._clock.now(), employee_id, kvk_nummer, action, message_id)

    def audit_trail(self, kvk_nummer: str | None = None, limit: int = 100
                    ) -> list[tuple[dt.datetime, str, str, str | None]]:
        """The latest audit events (of an organisation): when, who, what, to what."""
        query = select(AuditEvent).order_by(AuditEvent.id.desc()).limit(limit)
        if kvk_nummer is not None:
            query = query.where(AuditEvent.kvk_nummer == kvk_nummer)
        with transaction(self._sessions, read_only=True) as session:
            return [(e.at, e.actor, e.action, e.subject) for e in session.scalars(query)]


def _audit(session: Session, at: dt.datetime, actor: str, kvk_nummer: str | None,
           action: str, subject: str | None) -> None:
    actor = actor if actor in ("operator", "login-refused") else f"employee:{actor}"
    session.add(AuditEvent(at=at, actor=actor, kvk_nummer=kvk_nummer, action=action,
                           subject=subject))


def _employee_row(session: Session, kvk_nummer: str, employee_id: str) -> Employee:
    row = session.get(Employee, _uuid(employee_id))
    if row is None or row.kvk_nummer != kvk_nummer:
        raise NotFound("geen medewerker van uw organisatie")
    return row


def _employee(session: Session, row: Employee) -> EmployeeInfo:
    units = frozenset(session.scalars(select(EmployeeUnit.participant_id).where(
        EmployeeUnit.employee_id == row.id)))
    return EmployeeInfo(row.id, row.kvk_nummer, row.display_name, units)


def _request(row: UnitRequest) -> RequestInfo:
    return RequestInfo(row.id, row.participant_id, RequestKind(row.kind), row.value, row.state,
                       row.requested_at, row.decided_at, row.reason)


def _uuid(raw: str) -> str:
    key = canonical_id(raw)
    if key is None:
        raise NotFound("onbekend kenmerk")
    return key
