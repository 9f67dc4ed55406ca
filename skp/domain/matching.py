"""Matching: the zero-amount expansion of a non-matched Saldoverzoek antwoord.

A creditor answering a Saldoverzoek either matches (one line per claim the SHV listed) or does
not (group OngematchteSchulden: one total or its own list of open claims). When it does not,
the creditor need not return zero amounts for the claims the SHV listed: the hub adds a
zero-amount line for each of them, marked ``AutomatischAangevuld`` (domain.md §4). The hub
keeps the Saldoverzoek's claim references sealed until the answer arrives for this.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from skp.errors import SchemaInvalid

#: The request type whose claim references the hub keeps, and the reply it expands.
REQUEST = "Saldoverzoek"
REPLY = "SaldoverzoekAntwoord"
ZERO = "0.00"


def claim_references(saldoverzoek: Mapping[str, Any]) -> list[str]:
    """The invoice numbers (FactuurnummerSEVolgensSHV) a Saldoverzoek lists, in order."""
    return [line["FactuurnummerSEVolgensSHV"] for line in saldoverzoek.get("Vorderingen", [])]


def is_matched(antwoord: Mapping[str, Any]) -> bool:
    return antwoord.get("Matching") == "GEMATCHT"


def check_antwoord(antwoord: Mapping[str, Any]) -> None:
    """A non-matched answer has OngematchteSchulden; a matched one has not."""
    unmatched = antwoord.get("OngematchteSchulden")
    if is_matched(antwoord) and unmatched is not None:
        raise SchemaInvalid("a matched answer (Matching GEMATCHT) has no OngematchteSchulden; "
                            "answer each claim in Vorderingen")
    if not is_matched(antwoord) and unmatched is None:
        raise SchemaInvalid("a non-matched answer (Matching NIET_GEMATCHT) needs "
                            "OngematchteSchulden with Totaalvordering or OpenstaandeSchulden")


def expand_non_matched(antwoord: Mapping[str, Any], claims: Sequence[str]) -> dict[str, Any]:
    """Return ``antwoord`` with a zero-amount line for each listed claim it does not answer.

    A matched answer comes back unchanged. The input is not modified.
    """
    expanded = dict(antwoord)
    if is_matched(antwoord):
        return expanded
    lines = list(antwoord.get("Vorderingen", []))
    answered = {line.get("FactuurnummerSEVolgensSHV") for line in lines}
    for claim in claims:
        if claim not in answered:
            lines.append({"FactuurnummerSEVolgensSHV": claim, "Openstaand": ZERO,
                          "AutomatischAangevuld": True})
            answered.add(claim)
    if lines:
        expanded["Vorderingen"] = lines
    return expanded
