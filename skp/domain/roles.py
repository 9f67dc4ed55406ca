"""Modules of the hub and the roles of its participants, with which role may use which module."""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Module(enum.StrEnum):
    """A module of the hub; the value is the URL slug of its SOAP service."""

    SCHULDREGELING = "schuldregeling"
    SCHULDINVENTARISATIE = "schuldinventarisatie"
    BETALINGSREGELING = "betalingsregeling"
    MELDINGEN_BEWINDVOERING = "meldingen-bewindvoering"
    WAARBORGFONDS = "waarborgfonds"


class Role(enum.StrEnum):
    """What kind of participant an organisation unit is."""

    SHV_FASE1 = "SHV_FASE1"  # schuldhulpverlener fase 1
    SHV_FASE2 = "SHV_FASE2"  # schuldhulpverlener fase 2, incl. kredietbanken
    SHV_OVERIG = "SHV_OVERIG"  # overige schuldhulpverleners (client consent attached)
    SE = "SE"  # schuldeiser (creditor), one per business unit that invoices separately
    BEWINDVOERDER = "BEWINDVOERDER"  # administrator (beschikking attached)
    WSK = "WSK"  # Waarborgfonds saneringskredieten


@dataclass(frozen=True)
class ModuleInfo:
    """Descriptive data of a module."""

    title: str
    flow: str
    version: str


MODULE_INFO: dict[Module, ModuleInfo] = {
    Module.SCHULDREGELING: ModuleInfo("Schuldregeling", "SB/SK", "2.0"),
    Module.SCHULDINVENTARISATIE: ModuleInfo("Schuldinventarisatie", "INVENT", "2.0"),
    Module.BETALINGSREGELING: ModuleInfo("Betalingsregeling & Herfinanciering", "BR/HF", "2.0"),
    Module.MELDINGEN_BEWINDVOERING: ModuleInfo("Meldingen bewindvoering", "MB", "1.0"),
    Module.WAARBORGFONDS: ModuleInfo("Waarborgfonds saneringskredieten", "WSK", "1.0"),
}

#: Which modules a role may have switched on (domain.md §3).
ROLE_MODULES: dict[Role, frozenset[Module]] = {
    Role.SE: frozenset({
        Module.MELDINGEN_BEWINDVOERING, Module.SCHULDINVENTARISATIE,
        Module.BETALINGSREGELING, Module.SCHULDREGELING,
    }),
    Role.SHV_FASE1: frozenset({Module.SCHULDINVENTARISATIE, Module.BETALINGSREGELING}),
    Role.SHV_FASE2: frozenset({
        Module.SCHULDINVENTARISATIE, Module.BETALINGSREGELING,
        Module.SCHULDREGELING, Module.WAARBORGFONDS,
    }),
    Role.SHV_OVERIG: frozenset({Module.SCHULDINVENTARISATIE, Module.BETALINGSREGELING}),
    Role.BEWINDVOERDER: frozenset({
        Module.MELDINGEN_BEWINDVOERING, Module.SCHULDINVENTARISATIE, Module.BETALINGSREGELING,
    }),
    Role.WSK: frozenset({Module.WAARBORGFONDS}),
}

#: Every role that helps a client with its debts and may ask creditors for balances.
HELPERS = frozenset({Role.SHV_FASE1, Role.SHV_FASE2, Role.SHV_OVERIG, Role.BEWINDVOERDER})


def may_enable(role: Role, module: Module) -> bool:
    """Whether a participant with ``role`` may have ``module`` switched on."""
    return module in ROLE_MODULES[role]
