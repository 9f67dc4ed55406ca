"""The address book's rules: which fields are public, how names are matched, what a
participant may receive, and how large a page may be. Pure: the register's query passes the
participants in.

The address book is the participant register seen by other participants: for each active
participant with a module switched on, its id, name, KvK number and vestigingsnummer, role,
modules, whether it uses the BSN and the message types it may receive in the module. Nothing
else of the register (certificates, extensions, activity, backlog) is ever in it. A
participant that is not active yet (registered, in acceptance, accepted) is in no one's book,
and its own book holds only the test partners, the only ones it may exchange messages with
(skp.domain.routing.may_reach).
"""

from __future__ import annotations

import unicodedata

from skp.domain.catalogue import message_types
from skp.domain.roles import Module, Role
from skp.domain.routing import Party
from skp.errors import SchemaInvalid

#: The most entries one page of a search returns, and how many when the caller names none.
MAX_ENTRIES = 500
DEFAULT_ENTRIES = 100
#: The public fields of an entry, in the order the SOAP answer and the exports give them.
PUBLIC_FIELDS = ("DeelnemerId", "Naam", "KvkNummer", "Vestigingsnummer", "Rol", "Module",
                 "GebruiktBsn", "Berichttypen")


def folded(text: str) -> str:
    """``text`` as names are compared: without accents, case-folded, spaces collapsed, so that
    "energie" finds "Énergie BV" and "ENERGIE  bv"."""
    decomposed = unicodedata.normalize("NFKD", text)
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(bare.casefold().split())


def sees_everyone(viewer: Party | None) -> bool:
    """Whether ``viewer``'s address book holds every active participant, rather than only the
    test partners: so for an active participant and for a test partner; not for one that is
    not active yet. ``None`` is the published list, which holds every active participant."""
    return viewer is None or viewer.active or viewer.test_partner


def receivable(module: Module, role: Role, uses_bsn: bool) -> tuple[str, ...]:
    """The message types a participant with ``role`` may receive in ``module``, in catalogue
    order: a creditor that uses the BSN receives Kennisgeving Publiek, one that does not
    receives Kennisgeving (skp.domain.routing.check_route enforces the same at send)."""
    return tuple(mt.code for mt in message_types(module)
                 if role in mt.recipients
                 and mt.recipient_uses_bsn in (None, uses_bsn))


def page_size(maximum: int | None) -> int:
    """The size of a page: ``maximum`` when it is 1 to :data:`MAX_ENTRIES`, else
    SchemaInvalid; :data:`DEFAULT_ENTRIES` when the caller names none."""
    if maximum is None:
        return DEFAULT_ENTRIES
    if not 1 <= maximum <= MAX_ENTRIES:
        raise SchemaInvalid(f"Maximum is 1 to {MAX_ENTRIES}")
    return maximum
