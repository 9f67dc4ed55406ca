"""What a refusal of the mailbox means, in Dutch, for a person in the portal.

The mailbox's errors are written for integrators (English, with the field path). The portal
shows each one as the field or routing column it concerns and a Dutch sentence. Errors carry
no content (skp.errors), so neither does an explanation.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from skp.errors import SkpError


@dataclass(frozen=True)
class Explanation:
    """``where``: the field path (``Vorderingen[0]/Openstaand``) or routing column
    (``Ontvanger``, ``CrossReferentienummer``, ``Kenmerk``), or None for the whole message."""

    where: str | None
    text: str


_FIELD = r"field (?P<where>\S+) "
#: (pattern of the English message, Dutch text); ``{…}`` takes the named groups.
_SCHEMA: tuple[tuple[str, str], ...] = (
    (_FIELD + r"is required", "is verplicht"),
    (_FIELD + r"must be non-empty text", "moet tekst bevatten"),
    (_FIELD + r"is longer than (?P<n>[0-9]+) characters", "is langer dan {n} tekens"),
    (_FIELD + r"does not have the required format", "heeft niet de juiste vorm"),
    (_FIELD + r"must be one of (?P<codes>.+)", "moet een van deze codes zijn: {codes}"),
    (_FIELD + r"must be a date", "moet een datum zijn"),
    (_FIELD + r"must have at most 2 decimals", "mag hoogstens 2 decimalen hebben"),
    (_FIELD + r"must be a decimal number", "moet een getal zijn"),
    (_FIELD + r"must be between 0 and (?P<max>\S+)", "moet tussen 0 en {max} liggen"),
    (_FIELD + r"must be a whole number from 0 to (?P<max>\S+)",
     "moet een geheel getal van 0 tot en met {max} zijn"),
    (_FIELD + r"must be true or false", "moet ja of nee zijn"),
    (_FIELD + r"needs exactly one of (?P<names>.+)",
     "vraagt precies één van: {names} (niet meer, niet minder)"),
    (_FIELD + r"is set by the hub, not by the sender",
     "wordt door het Schuldenknooppunt ingevuld; laat dit leeg"),
    (r"as (?P<role>\S+) you must attach (?P<where>\S+) to \S+",
     "moet als bijlage worden meegestuurd; dat kan niet met CSV: gebruik het formulier"),
    (r"(?P<where>Kenmerk) must be .*", "moet 1 tot 64 tekens zijn, zonder spaties"),
    (r"(?P<where>Ontvanger|ConversatieReferentienummer|CrossReferentienummer) must be a UUID",
     "moet een id zijn zoals 4f1c0e2a-…-…"),
    (r"a matched answer .*", "een gematcht antwoord (Matching GEMATCHT) heeft geen "
                             "ongematchte schulden; laat de kolommen OngematchteSchulden leeg"),
    (r"a non-matched answer .*", "een niet-gematcht antwoord (Matching NIET_GEMATCHT) vraagt "
                                 "een Totaalvordering of OpenstaandeSchulden"),
)
_WHERE_OF_MATCHING = {"a matched answer": "OngematchteSchulden",
                      "a non-matched answer": "OngematchteSchulden"}
#: By error code: (routing column or None, Dutch text).
_BY_CODE: dict[str, tuple[str | None, str]] = {
    "Client.UnknownRecipient": ("Ontvanger", "is geen actieve deelnemer van het "
                                             "Schuldenknooppunt"),
    "Client.NotAllowed": ("Ontvanger", "deze ontvanger of uw eenheid mag dit berichttype niet "
                                       "ontvangen of versturen"),
    "Client.ModuleNotEnabled": ("Ontvanger", "de module van dit bericht staat niet aan voor "
                                             "uw eenheid of voor de ontvanger"),
    "Client.InvalidReply": ("CrossReferentienummer", "verwijst niet naar een bericht in uw "
                                                     "postbus waarop dit het antwoord kan zijn"),
    "Client.KenmerkConflict": ("Kenmerk", "dit Kenmerk is al gebruikt voor een ander bericht; "
                                          "kies een ander of laat het leeg"),
    "Client.TooLarge": (None, "het bericht is groter dan het Schuldenknooppunt toestaat"),
    "Client.RateLimited": (None, "u verstuurt meer berichten dan is toegestaan; probeer het "
                                 "later opnieuw"),
    "Client.MailboxFull": (None, "de postbus van de ontvanger is vol; probeer het later "
                                 "opnieuw"),
    "Client.Authentication": (None, "uw eenheid is niet (meer) actief op het "
                                    "Schuldenknooppunt"),
}


def explain(error: SkpError) -> Explanation:
    """The Dutch explanation of ``error``, by what it concerns."""
    if error.code == "Client.SchemaInvalid":
        for pattern, text in _SCHEMA:
            match = re.fullmatch(pattern, error.message, flags=re.DOTALL)
            if match is not None:
                groups = match.groupdict()
                if groups.get("names"):  # "A or B" as the validator joins them
                    groups["names"] = groups["names"].replace(" or ", " of ")
                where = groups.get("where")
                if where is None:
                    where = next((w for start, w in _WHERE_OF_MATCHING.items()
                                  if error.message.startswith(start)), None)
                return Explanation(where, text.format(**groups))
    if error.code in _BY_CODE:
        where, text = _BY_CODE[error.code]
        return Explanation(where, text)
    return Explanation(None, f"het bericht is geweigerd ({error.code}: {error.message})")
