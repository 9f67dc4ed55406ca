"""The address book: participants find each other's ids through the hub (ZoekDeelnemers,
``/deelnemers``, ``skp participants export``; the portal's recipient picker).

A search reads the participant register, active participants with the module switched on
only, and answers their public fields (skp.domain.addressbook), ordered by name and paged by
keyset: ``after`` is the id of the last entry of the previous page. The ``viewer`` is who
looks: a participant that is not active yet finds only the test partners; ``None`` (the
published list) finds every active participant.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from sqlalchemy import ColumnElement, and_, exists, or_, select
from sqlalchemy.orm import Session, aliased, sessionmaker

from skp.domain.addressbook import MAX_ENTRIES, folded, page_size, receivable, sees_everyone
from skp.domain.admission import Standing
from skp.domain.roles import Module, Role
from skp.domain.routing import Party
from skp.errors import NotFound, SchemaInvalid
from skp.participants import ParticipantInfo, by_id, test_partner_ids, with_modules
from skp.store.models import Participant, ParticipantModule
from skp.store.session import statements
from skp.store.types import canonical_id


@dataclass(frozen=True)
class Entry:
    """One participant as the address book shows it: public fields only."""

    id: str
    name: str
    kvk_nummer: str | None
    vestigingsnummer: str | None
    role: Role
    modules: tuple[Module, ...]
    uses_bsn: bool
    receives: tuple[str, ...]  # the message types it may receive in the module searched

    @classmethod
    def of(cls, participant: ParticipantInfo, module: Module) -> Entry:
        return cls(participant.id, participant.name, participant.kvk_nummer,
                   participant.vestigingsnummer, participant.role,
                   tuple(sorted(participant.modules)), participant.uses_bsn,
                   receivable(module, participant.role, participant.uses_bsn))


@dataclass(frozen=True)
class Search:
    """What to look for; every filter is optional but the module."""

    module: Module
    name: str | None = None  # a part of the name, accents and case ignored
    kvk_nummer: str | None = None
    vestigingsnummer: str | None = None
    role: Role | None = None
    limit: int | None = None  # 1 to 500; 100 when None
    after: str | None = None  # the id of the last entry of the previous page


@dataclass(frozen=True)
class Found:
    """One page of a search, and the ``after`` of the next page when there is one."""

    entries: list[Entry]
    next_after: str | None


class AddressBook:
    """The address book over the participant register. ``hidden`` are ids never shown (the
    built-in test partners, when the hub does not run them)."""

    def __init__(self, sessions: sessionmaker[Session], hidden: Iterable[str] = ()) -> None:
        self._sessions = sessions
        self._hidden = frozenset(hidden)

    def search(self, search: Search, viewer: Party | None = None) -> Found:
        """A page of the entries ``viewer`` finds that match ``search``, by name."""
        limit = page_size(search.limit)
        conditions = [_listed(search.module, viewer)]
        if search.name:
            pattern = folded(search.name).replace("\\", "\\\\").replace("%", "\\%").replace(
                "_", "\\_")
            conditions.append(Participant.search_name.like(f"%{pattern}%", escape="\\"))
        if search.kvk_nummer:
            conditions.append(Participant.kvk_nummer == search.kvk_nummer)
        if search.vestigingsnummer:
            conditions.append(Participant.vestigingsnummer == search.vestigingsnummer)
        if search.role is not None:
            conditions.append(Participant.role == search.role)
        if self._hidden:
            conditions.append(Participant.id.not_in(self._hidden))
        with statements(self._sessions) as connection:
            if search.after is not None:
                anchor = connection.execute(
                    select(Participant.search_name, Participant.id)
                    .where(Participant.id == _key(search.after))).first()
                if anchor is None:
                    raise NotFound(f"no participant {search.after} to continue after")
                conditions.append(or_(
                    Participant.search_name > anchor.search_name,
                    and_(Participant.search_name == anchor.search_name,
                         Participant.id > anchor.id)))
            page = (select(Participant.id).where(*conditions)
                    .order_by(Participant.search_name, Participant.id).limit(limit + 1))
            ids = list(connection.scalars(page))
            found = by_id(connection.execute(
                with_modules().where(Participant.id.in_(ids[:limit])))) if ids else {}
        entries = [Entry.of(found[key], search.module) for key in ids[:limit]]
        return Found(entries, entries[-1].id if len(ids) > limit else None)

    def every(self, module: Module) -> Iterator[Entry]:
        """Every entry of the book of ``module``, by name, a page at a time."""
        after: str | None = None
        while True:
            found = self.search(Search(module, limit=MAX_ENTRIES, after=after))
            yield from found.entries
            if found.next_after is None:
                return
            after = found.next_after

    def entry(self, participant_id: str, module: Module, viewer: Party | None = None) -> Entry:
        """The entry of one participant; NotFound unless it is in ``viewer``'s book for
        ``module``."""
        key = _key(participant_id)
        with statements(self._sessions) as connection:
            found = by_id(connection.execute(with_modules().where(
                Participant.id == key, _listed(module, viewer))))
        if key not in found or key in self._hidden:
            raise NotFound(f"no participant {participant_id} in the address book of module "
                           f"{module}")
        return Entry.of(found[key], module)


def _listed(module: Module, viewer: Party | None) -> ColumnElement[bool]:
    """An active participant with ``module`` switched on, and a test partner unless ``viewer``
    sees everyone (an alias of its modules' table: the query may join that table to read
    every module of the participant)."""
    enabled = aliased(ParticipantModule)
    conditions = [Participant.standing == Standing.ACTIVE,
                  exists().where(enabled.participant_id == Participant.id,
                                 enabled.module == module)]
    if not sees_everyone(viewer):
        conditions.append(Participant.id.in_(test_partner_ids()))
    return and_(*conditions)


def _key(participant_id: str) -> str:
    key = canonical_id(participant_id)
    if key is None:
        raise SchemaInvalid("a participant id (DeelnemerId) is a UUID")
    return key
