"""What a refusal of the mailbox means, in Dutch, for a person in the portal.

The mailbox's errors are written for integrators (English, with the field path). One table,
:data:`RULES` for the validator's messages and :data:`BY_CODE` for the other refusals, holds
the Dutch of each, in two renderings of the same entry:

- for a CSV file, :func:`explain`: the field path or routing column it concerns and a phrase
  that follows the column's name ("Vorderingen.1.Openstaand: mag hoogstens 2 decimalen
  hebben");
- for a form, :func:`sentence` (a problem of one field, as a sentence next to it, in the
  words of the field's kind: "Maak een keuze.") and :func:`refusal` (the whole message).

Errors carry no content by intent (skp.errors), but some messages repeat what the caller
wrote (a Kenmerk, a message type's code, an element's name); an error without a Dutch text
is therefore explained by its code alone. Pure: no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from skp.domain.fields import BSN, POSTCODE, Field, Kind
from skp.errors import SkpError


@dataclass(frozen=True)
class Explanation:
    """``where``: the field path (``Vorderingen[0]/Openstaand``) or routing column
    (``Ontvanger``, ``CrossReferentienummer``, ``Kenmerk``), or None for the whole message."""

    where: str | None
    text: str


#: The form's words for a field of its kind, where they say it better than the rule's
#: sentence: None keeps the sentence.
ByField = Callable[[Field, Mapping[str, str]], str | None]


@dataclass(frozen=True)
class Rule:
    """One validator message: ``pattern`` matches its English (named groups fill the texts,
    ``where`` the field path); ``column`` follows a CSV column's name, ``sentence`` stands
    next to a form's field, ``by_field`` words it for the field's kind. ``where`` names the
    field of a message that does not."""

    pattern: str
    column: str
    sentence: str
    by_field: ByField | None = None
    where: str | None = None


def _required(f: Field, _: Mapping[str, str]) -> str | None:
    if f.repeated and f.kind in (Kind.GROUP, Kind.CHOICE):
        return "Vul ten minste één regel in."
    if f.kind in (Kind.CODE, Kind.BOOLEAN, Kind.CHOICE):
        return "Maak een keuze."
    if f.kind is Kind.DOCUMENT:
        return "Voeg dit document toe."
    return None


def _format(f: Field, _: Mapping[str, str]) -> str | None:
    return {BSN: "Vul een BSN van 9 cijfers in.",
            POSTCODE: "Vul een postcode in zoals 1234 AB."}.get(f.pattern or "")


def _number(f: Field, _: Mapping[str, str]) -> str | None:
    if f.kind is Kind.PERCENTAGE:
        return "Vul een percentage van 0 tot 100 in, met hoogstens 2 decimalen."
    return None


_FIELD = r"field (?P<where>\S+) "
_AMOUNT = "Vul een bedrag in met hoogstens 2 decimalen, bijvoorbeeld 1.234,56."
_ONE_OF = "Kies een van de mogelijkheden."

RULES: tuple[Rule, ...] = (
    Rule(_FIELD + r"is required", "is verplicht", "Vul dit veld in.", _required),
    Rule(_FIELD + r"must be non-empty text", "moet tekst bevatten", "Vul dit veld in."),
    Rule(_FIELD + r"is longer than (?P<n>[0-9]+) characters", "is langer dan {n} tekens",
         "Gebruik hoogstens {n} tekens."),
    Rule(_FIELD + r"does not have the required format", "heeft niet de juiste vorm",
         "Dit heeft niet de juiste vorm.", _format),
    Rule(_FIELD + r"must be one of (?P<codes>.+)", "moet een van deze codes zijn: {codes}",
         _ONE_OF),
    Rule(_FIELD + r"must be a date\b.*", "moet een datum zijn",
         "Vul een geldige datum in, bijvoorbeeld 15-01-2026."),
    Rule(_FIELD + r"must have at most 2 decimals", "mag hoogstens 2 decimalen hebben",
         _AMOUNT, _number),
    Rule(_FIELD + r"must be a decimal number\b.*", "moet een getal zijn", _AMOUNT, _number),
    Rule(_FIELD + r"must be between 0 and (?P<max>\S+)", "moet tussen 0 en {max} liggen",
         _AMOUNT, _number),
    Rule(_FIELD + r"must be a whole number from 0 to (?P<max>\S+)",
         "moet een geheel getal van 0 tot en met {max} zijn", "Vul een heel getal in."),
    Rule(_FIELD + r"must be true or false", "moet ja of nee zijn", "Kies ja of nee."),
    Rule(_FIELD + r"needs exactly one of (?P<names>.+)",
         "vraagt precies één van: {names} (niet meer, niet minder)", _ONE_OF),
    Rule(_FIELD + r"is set by the hub, not by the sender",
         "wordt door het Schuldenknooppunt ingevuld; laat dit leeg",
         "Dit veld vult het Schuldenknooppunt zelf in."),
    Rule(_FIELD + r"must be a (base64-encoded )?document",
         "moet een document zijn", "Het document kon niet worden gelezen."),
    Rule(_FIELD + r"must not be empty", "is leeg", "Het document is leeg."),
    Rule(r"as (?P<role>\S+) you must attach (?P<where>\S+) to \S+",
         "moet als bijlage worden meegestuurd; dat kan niet met CSV: gebruik het formulier",
         "Voeg dit document toe: dat is voor uw organisatie verplicht."),
    Rule(r"(?P<where>Kenmerk) must be .*", "moet 1 tot 64 tekens zijn, zonder spaties",
         "Gebruik 1 tot 64 tekens, zonder spaties."),
    Rule(r"(?P<where>Ontvanger|ConversatieReferentienummer|CrossReferentienummer) must be a "
         r"UUID", "moet een id zijn zoals 4f1c0e2a-…-…", "Dit is geen geldig id."),
    Rule(r"a matched answer .*", "een gematcht antwoord (Matching GEMATCHT) heeft geen "
                                 "ongematchte schulden; laat de kolommen OngematchteSchulden "
                                 "leeg",
         "Bij een gematcht antwoord vult u geen ongematchte schulden in; beantwoord elke "
         "vordering in de regels.", where="OngematchteSchulden"),
    Rule(r"a non-matched answer .*", "een niet-gematcht antwoord (Matching NIET_GEMATCHT) "
                                     "vraagt een Totaalvordering of OpenstaandeSchulden",
         "Kies bij een niet-gematcht antwoord een totaalvordering of de openstaande "
         "schulden.", where="OngematchteSchulden"),
)


@dataclass(frozen=True)
class CodeRule:
    """A refusal known by its code: the routing column it concerns (or None for the whole
    message), the CSV's phrase and the form's sentence (None: the form says it generally)."""

    where: str | None
    column: str
    sentence: str | None


_NOT_ALLOWED = ("Dit bericht mag niet naar deze ontvanger: de ontvanger of uw eenheid heeft "
                "de module niet, of de rol past niet bij dit berichttype.")
_QUOTA = ("Het Schuldenknooppunt neemt even geen berichten aan van of voor deze eenheid. "
          "Probeer het over enkele minuten opnieuw.")

BY_CODE: dict[str, CodeRule] = {
    "Client.UnknownRecipient": CodeRule(
        "Ontvanger", "is geen actieve deelnemer van het Schuldenknooppunt",
        "De ontvanger neemt geen berichten meer aan."),
    "Client.NotAllowed": CodeRule(
        "Ontvanger", "deze ontvanger of uw eenheid mag dit berichttype niet ontvangen of "
                     "versturen", _NOT_ALLOWED),
    "Client.ModuleNotEnabled": CodeRule(
        "Ontvanger", "de module van dit bericht staat niet aan voor uw eenheid of voor de "
                     "ontvanger", _NOT_ALLOWED),
    "Client.InvalidReply": CodeRule(
        "CrossReferentienummer", "verwijst niet naar een bericht in uw postbus waarop dit het "
                                 "antwoord kan zijn",
        "Dit antwoord past niet bij het bericht dat u beantwoordt."),
    "Client.KenmerkConflict": CodeRule(
        "Kenmerk", "dit Kenmerk is al gebruikt voor een ander bericht; kies een ander of laat "
                   "het leeg",
        "Dit formulier is al gebruikt voor een ander bericht. Open het formulier opnieuw."),
    "Client.TooLarge": CodeRule(
        None, "het bericht is groter dan het Schuldenknooppunt toestaat",
        "Het bericht is te groot; maak de documenten kleiner."),
    "Client.RateLimited": CodeRule(
        None, "u verstuurt meer berichten dan is toegestaan; probeer het later opnieuw", _QUOTA),
    "Client.MailboxFull": CodeRule(
        None, "de postbus van de ontvanger is vol; probeer het later opnieuw", _QUOTA),
    "Client.Authentication": CodeRule(
        None, "uw eenheid is niet (meer) actief op het Schuldenknooppunt", None),
}


def _match(message: str) -> tuple[Rule, dict[str, str]] | None:
    """The rule of validator message ``message`` and its groups."""
    for rule in RULES:
        found = re.fullmatch(rule.pattern, message, flags=re.DOTALL)
        if found is not None:
            groups = {k: v for k, v in found.groupdict().items() if v is not None}
            if "names" in groups:  # "A or B" as the validator joins them
                groups["names"] = groups["names"].replace(" or ", " of ")
            if rule.where is not None:
                groups["where"] = rule.where
            return rule, groups
    return None


def explain(error: SkpError) -> Explanation:
    """The Dutch explanation of ``error`` for a CSV file, by what it concerns."""
    if error.code == "Client.SchemaInvalid":
        matched = _match(error.message)
        if matched is not None:
            rule, groups = matched
            return Explanation(groups.get("where"), rule.column.format(**groups))
    if error.code in BY_CODE:
        known = BY_CODE[error.code]
        return Explanation(known.where, known.column)
    return Explanation(None, f"het bericht is geweigerd ({error.code})")


def sentence(f: Field | None, message: str) -> str:
    """The validator's ``message`` about field ``f`` as a Dutch sentence next to the field
    on a form."""
    matched = _match(message)
    if matched is None:
        return "Dit is niet geldig."
    rule, groups = matched
    worded = rule.by_field(f, groups) if f is not None and rule.by_field else None
    return worded or rule.sentence.format(**groups)


def refusal(error: SkpError) -> str | None:
    """Why the mailbox refused a whole message sent from a form, as a Dutch sentence; None
    when the form can only say that it was not sent."""
    known = BY_CODE.get(error.code)
    return known.sentence if known is not None else None
