"""The rules of organisations on the portal: who an eHerkenning login is, what an
administrator may enter, and which requests a business unit may make. Pure: the portal passes
the claims and the participants in.

eHerkenning (through a broker, over OpenID Connect) tells the portal the organisation
(``LegalSubjectID``: its KvK number), the person as a pseudonym of the broker
(``ActingSubjectID``), optionally the branch the authorisation is restricted to
(``ServiceRestriction:Vestigingsnr``), the eHerkenning service the person was authorised for
(the portal itself, or "Schuldenknooppunt Beheer" for the organisation's administrator) and the
assurance level. Below EH3 (``loa3``) nobody gets in.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from schwifty import IBAN
from schwifty.exceptions import SchwiftyException

from skp.domain.retention import EXTENSION_DAYS
from skp.domain.roles import Module, Role, may_enable
from skp.errors import LoginRefused

#: eHerkenning's assurance levels, lowest first (Afsprakenstelsel Elektronische Toegangsdiensten).
ASSURANCE_LEVELS = tuple(f"urn:etoegang:core:assurance-class:{level}"
                         for level in ("loa1", "loa2", "loa2plus", "loa3", "loa4"))
#: The lowest level the portal accepts: EH3.
MINIMUM_ASSURANCE = "urn:etoegang:core:assurance-class:loa3"
KVK = re.compile(r"[0-9]{8}")
VESTIGING = re.compile(r"[0-9]{12}")


@dataclass(frozen=True)
class ClaimNames:
    """Which claims of the broker's ID token carry what (defaults: what brokers send)."""

    legal_subject: str = "urn:etoegang:core:LegalSubjectID"
    acting_subject: str = "urn:etoegang:core:ActingSubjectID"
    vestiging: str = "urn:etoegang:1.9:ServiceRestriction:Vestigingsnr"
    service: str = "urn:etoegang:core:ServiceID"
    assurance: str = "acr"


@dataclass(frozen=True)
class Login:
    """Who logged in: the organisation, the person's pseudonym, the branch the login is
    restricted to (if any), and whether it is the organisation's administrator."""

    kvk_nummer: str
    acting_subject: str
    vestiging: str | None
    administrator: bool


def login(claims: Mapping[str, Any], names: ClaimNames, *, portal_service: str,
          beheer_service: str) -> Login:
    """The login the claims describe; LoginRefused (with a reason a person can act on) when
    the assurance level is too low, the service is not the portal's, or a claim is missing."""
    level = claims.get(names.assurance)
    if level not in ASSURANCE_LEVELS or (
            ASSURANCE_LEVELS.index(level) < ASSURANCE_LEVELS.index(MINIMUM_ASSURANCE)):
        raise LoginRefused("het betrouwbaarheidsniveau van uw eHerkenning-middel is te laag: "
                           "het Schuldenknooppunt vraagt minimaal EH3",
                           reason="assurance")
    service = claims.get(names.service)
    if service not in (portal_service, beheer_service):
        raise LoginRefused("uw eHerkenning-machtiging is niet voor het Schuldenknooppunt; "
                           "vraag uw organisatie om de dienst toe te kennen", reason="service")
    kvk = _text(claims.get(names.legal_subject))
    if kvk is not None and kvk.startswith("urn:"):  # some brokers send the typed identifier
        kvk = kvk.rsplit(":", 1)[-1]
    acting = _text(claims.get(names.acting_subject))
    if kvk is None or not KVK.fullmatch(kvk) or acting is None:
        raise LoginRefused("uw eHerkenning-gegevens zijn onvolledig: het KvK-nummer of de "
                           "identiteit van de medewerker ontbreekt", reason="claims")
    vestiging = _text(claims.get(names.vestiging))
    if vestiging is not None and not VESTIGING.fullmatch(vestiging):
        vestiging = None
    return Login(kvk, acting, vestiging, administrator=service == beheer_service)


def _text(value: Any) -> str | None:
    if isinstance(value, list) and len(value) == 1:
        value = value[0]
    return value.strip() if isinstance(value, str) and value.strip() else None


def iban(raw: str) -> str:
    """An IBAN in electronic form (no spaces); ValueError with a Dutch reason when it is not
    a valid IBAN (checksum, length and bank code of its country, schwifty)."""
    try:
        return IBAN(raw).compact
    except SchwiftyException:
        raise ValueError("dit is geen geldig IBAN; controleer het nummer") from None


def formatted_iban(compact: str) -> str:
    """An IBAN in groups of four, as people read it."""
    return IBAN(compact).formatted


class ContactRole(enum.StrEnum):
    """What a contact person is contacted for."""

    BEHEER = "beheer"
    OPERATIONEEL = "operationeel"
    FINANCIEEL = "financieel"
    TECHNISCH = "technisch"

    @property
    def label(self) -> str:
        return {"beheer": "Beheerder", "operationeel": "Dagelijkse afhandeling",
                "financieel": "Financiële zaken", "technisch": "Technische koppeling"}[self.value]


class RequestKind(enum.StrEnum):
    MODULE = "module"
    EXTENSION = "extension"


def check_request(kind: RequestKind, value: str, *, role: Role, modules: frozenset[Module],
                  extension_days: int) -> str:
    """The value of a request a business unit may make, or ValueError saying why not: a module
    its role may use and it does not have yet, or an extension (7, 14 or 28 days) other than
    the one it has."""
    if kind is RequestKind.MODULE:
        try:
            module = Module(value)
        except ValueError:
            raise ValueError("kies een module") from None
        if not may_enable(role, module):
            raise ValueError("deze module is niet voor uw soort organisatie")
        if module in modules:
            raise ValueError("deze module staat al aan")
        return module.value
    if not value.isdigit() or int(value) not in EXTENSION_DAYS or int(value) == 0:
        raise ValueError("kies 7, 14 of 28 dagen")
    if int(value) == extension_days:
        raise ValueError("deze verlenging heeft u al")
    return value
