"""The message catalogue: every message type of every module, as data.

For each type: who may send and receive it (by role), which types it answers, and its body
fields. Names and fields follow domain.md; where the public sources are silent the type or its
fields are marked ``skp_defined`` — a minimal, reasonable definition of our own.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from dataclasses import dataclass

from skp.domain.fields import (
    Field,
    adres,
    amount,
    choice,
    claim_lines,
    claims_requested,
    code,
    contactpersoon,
    date,
    document,
    documents,
    flag,
    group,
    integer,
    percentage,
    persoon,
    text,
    unmatched_claims,
)
from skp.domain.roles import HELPERS, Module, Role


@dataclass(frozen=True)
class MessageType:
    """One message type of one module.

    ``answers`` lists the codes (same module) this type replies to; when it is not empty the
    message must reference such an original through its CrossReferentienummer, unless
    ``reply_optional`` (the type also travels unprompted).
    """

    module: Module
    code: str
    title: str
    senders: frozenset[Role]
    recipients: frozenset[Role]
    fields: tuple[Field, ...]
    answers: frozenset[str] = frozenset()
    reply_optional: bool = False
    #: Kennisgeving goes to creditors without BSN, Kennisgeving Publiek to those that use it.
    recipient_uses_bsn: bool | None = None
    #: A field that becomes mandatory when the sender has this role (consent, beschikking).
    required_by_role: tuple[tuple[Role, str], ...] = ()
    skp_defined: bool = False

    @property
    def is_reply(self) -> bool:
        return bool(self.answers)

    def field(self, name: str) -> Field:
        for candidate in self.fields:
            if candidate.name == name:
                return candidate
        raise KeyError(name)


SHV2 = frozenset({Role.SHV_FASE2})
SE = frozenset({Role.SE})
BEWIND = frozenset({Role.BEWINDVOERDER})
WSK = frozenset({Role.WSK})
_ATTACHMENTS = ((Role.SHV_OVERIG, "Toestemmingsverklaring"), (Role.BEWINDVOERDER, "Beschikking"))
_SCHULDREGELING_TYPES = ("SB", "SK", "SA")
_GEEN_MEDEWERKING_REDENEN = (
    "KLANT_ONBEKEND", "RECENT_FINALE_KWIJTING", "RECENTE_STABILISATIE", "GEEN_SAMENWERKING_SHV",
)


def _saldoverzoek(module: Module, senders: frozenset[Role], typ: tuple[str, ...]) -> MessageType:
    return MessageType(
        module, "Saldoverzoek", "Saldoverzoek", senders, SE,
        (
            text("KlantnummerSHV", max_length=50),
            text("KlantnummerSEVolgensSHV", required=False, max_length=50),
            code("TypeSchuldregeling", *typ, required=False),
            persoon("Klant"),
            persoon("Partner", required=False),
            adres(),
            contactpersoon(),
            claims_requested(),
            document("Toestemmingsverklaring"),
            document("Beschikking"),
        ),
        required_by_role=_ATTACHMENTS if senders != SHV2 else (),
    )


def _saldoverzoek_antwoord(module: Module, recipients: frozenset[Role]) -> MessageType:
    return MessageType(
        module, "SaldoverzoekAntwoord", "Saldoverzoek antwoord", SE, recipients,
        (
            text("KlantnummerSE", required=False, max_length=50),
            contactpersoon(required=False),
            date("Datum"),
            code("Matching", "GEMATCHT", "NIET_GEMATCHT"),
            claim_lines(),
            unmatched_claims(),
        ),
        answers=frozenset({"Saldoverzoek"}),
    )


def _geen_medewerking(module: Module, recipients: frozenset[Role], *answers: str) -> MessageType:
    return MessageType(
        module, "GeenMedewerking", "Geen medewerking", SE, recipients,
        (code("Reden", *_GEEN_MEDEWERKING_REDENEN), text("Toelichting", required=False,
                                                          max_length=1000)),
        answers=frozenset(answers),
    )


def _kennisgeving(code_: str, title: str, *, bsn: bool) -> MessageType:
    return MessageType(
        Module.SCHULDREGELING, code_, title, SHV2, SE,
        (
            text("KlantnummerSHV", max_length=50),
            date("DatumAanmelding"),
            persoon("Klant", with_bsn=bsn),
            persoon("Partner", required=False, with_bsn=bsn),
            choice("Adreskeuze", adres("Woonadres"), adres("Briefadres")),
            contactpersoon(),
        ),
        recipient_uses_bsn=bsn,
    )


_SCHULDREGELING = (
    _kennisgeving("Kennisgeving", "Kennisgeving", bsn=False),
    _kennisgeving("KennisgevingPubliek", "Kennisgeving Publiek", bsn=True),
    MessageType(
        Module.SCHULDREGELING, "KennisgevingAntwoord", "Kennisgeving antwoord", SE, SHV2,
        (
            text("KlantnummerSE", required=False, max_length=50),
            text("FactuurnummerSE", required=False, max_length=50, repeated=True),
            contactpersoon(required=False),
            text("Antwoord", required=False, max_length=1000),
        ),
        answers=frozenset({"Kennisgeving", "KennisgevingPubliek"}),
    ),
    _geen_medewerking(Module.SCHULDREGELING, SHV2,
                      "Kennisgeving", "KennisgevingPubliek", "Saldoverzoek"),
    _saldoverzoek(Module.SCHULDREGELING, SHV2, _SCHULDREGELING_TYPES),
    _saldoverzoek_antwoord(Module.SCHULDREGELING, SHV2),
    MessageType(
        Module.SCHULDREGELING, "SaldoverzoekAntwoordVoorafAkkoord",
        "Saldoverzoek antwoord vooraf akkoord", SE, SHV2,
        (
            text("KlantnummerSE", required=False, max_length=50),
            contactpersoon(required=False),
            date("Datum"),
            claim_lines(),
        ),
        answers=frozenset({"Saldoverzoek"}),
    ),
    MessageType(
        Module.SCHULDREGELING, "Betaalvoorstel", "Betaalvoorstel", SHV2, SE,
        (
            text("KlantnummerSHV", max_length=50),
            text("KlantnummerSE", required=False, max_length=50),
            code("TypeSchuldregeling", *_SCHULDREGELING_TYPES),
            integer("AantalPreferenteSchuldeisers"),
            integer("AantalConcurrenteSchuldeisers"),
            amount("TotaalPreferenteSchuld"),
            amount("TotaalConcurrenteSchuld"),
            integer("LooptijdMaanden"),
            percentage("Aanbodpercentage"),
            text("Motivatie", max_length=4000),
            group("Vorderingen", text("FactuurnummerSE", max_length=50),
                  amount("Vorderingsbedrag"), amount("Aanbod"), repeated=True),
        ),
    ),
    MessageType(
        Module.SCHULDREGELING, "BetaalvoorstelAntwoord", "Betaalvoorstel antwoord", SE, SHV2,
        (flag("Akkoord"), text("Reden", required=False, max_length=1000),
         contactpersoon(required=False)),
        answers=frozenset({"Betaalvoorstel", "Heroverweging"}),
    ),
    MessageType(
        Module.SCHULDREGELING, "Heroverweging", "Heroverweging", SHV2, SE,
        (text("Motivatie", max_length=4000),),
        answers=frozenset({"BetaalvoorstelAntwoord"}),
    ),
    MessageType(
        Module.SCHULDREGELING, "SchuldregelingAkkoord", "Schuldregeling akkoord", SHV2, SE,
        (
            date("DatumAkkoord"),
            text("KlantnummerSE", max_length=50),
            text("KlantnummerSHV", max_length=50),
            code("TypeSchuldregeling", *_SCHULDREGELING_TYPES),
            code("Uitbetaalmomenten", "EENMALIG", "MAANDELIJKS", "PER_KWARTAAL", "JAARLIJKS",
                 required=False),
            group(
                "Vorderingen",
                text("FactuurnummerSE", max_length=50),
                percentage("Afkooppercentage"),
                amount("PrognoseEindbedrag"),
                amount("ActueelVorderingsbedrag"),
                text("VorderingsType", max_length=50),
                text("Betaalreferentie", max_length=50),
                repeated=True,
            ),
        ),
    ),
    MessageType(
        Module.SCHULDREGELING, "SchuldregelingBeeindigd", "Schuldregeling beëindigd", SHV2, SE,
        (
            text("KlantnummerSHV", max_length=50),
            text("KlantnummerSE", required=False, max_length=50),
            date("DatumBeeindiging"),
            code("Reden", "FINALE_KWIJTING", "TUSSENTIJDS_BEEINDIGD", "OMGEZET_WSNP", "OVERIG"),
            text("Toelichting", required=False, max_length=1000),
        ),
        skp_defined=True,
    ),
    MessageType(
        Module.SCHULDREGELING, "Statusverzoek", "Statusverzoek", SE, SHV2,
        (text("KlantnummerSHV", required=False, max_length=50),
         text("KlantnummerSE", required=False, max_length=50),
         text("Vraag", required=False, max_length=1000)),
        skp_defined=True,
    ),
    MessageType(
        Module.SCHULDREGELING, "StatusberichtShv", "Statusbericht SHV", SHV2, SE,
        (code("Status", "AANMELDING", "STABILISATIE", "SCHULDREGELING", "BEEINDIGD"),
         date("VerwachteDatum", required=False),
         text("Toelichting", required=False, max_length=1000)),
        answers=frozenset({"Statusverzoek"}),
        reply_optional=True,
        skp_defined=True,
    ),
    MessageType(
        Module.SCHULDREGELING, "StatusberichtSe", "Statusbericht SE", SE, SHV2,
        (text("KlantnummerSE", required=False, max_length=50),
         code("Status", "INCASSO_OPGESCHORT", "INCASSO_HERVAT", "VORDERING_GEWIJZIGD", "OVERIG"),
         text("Toelichting", required=False, max_length=1000)),
        skp_defined=True,
    ),
)

_SCHULDINVENTARISATIE = (
    _saldoverzoek(Module.SCHULDINVENTARISATIE, HELPERS, _SCHULDREGELING_TYPES),
    _saldoverzoek_antwoord(Module.SCHULDINVENTARISATIE, HELPERS),
    _geen_medewerking(Module.SCHULDINVENTARISATIE, HELPERS, "Saldoverzoek"),
)

_BETALINGSREGELING = (
    _saldoverzoek(Module.BETALINGSREGELING, HELPERS, ("BR", "HF")),
    _saldoverzoek_antwoord(Module.BETALINGSREGELING, HELPERS),
    _geen_medewerking(Module.BETALINGSREGELING, HELPERS, "Saldoverzoek", "Betalingsvoorstel"),
    MessageType(
        Module.BETALINGSREGELING, "Betalingsvoorstel", "Betalingsvoorstel", HELPERS, SE,
        (
            text("KlantnummerSHV", max_length=50),
            text("KlantnummerSE", required=False, max_length=50),
            code("TypeRegeling", "BR", "HF"),
            amount("Termijnbedrag"),
            integer("AantalTermijnen"),
            date("Ingangsdatum"),
            group("Vorderingen", text("FactuurnummerSE", max_length=50), amount("Bedrag"),
                  required=False, repeated=True),
            text("Toelichting", required=False, max_length=1000),
        ),
        skp_defined=True,
    ),
    MessageType(
        Module.BETALINGSREGELING, "BetalingsvoorstelAntwoord", "Betalingsvoorstel antwoord",
        SE, HELPERS,
        (flag("Akkoord"), text("Reden", required=False, max_length=1000),
         amount("Tegenvoorstel", required=False)),
        answers=frozenset({"Betalingsvoorstel"}),
        skp_defined=True,
    ),
)


def _melding(code_: str, title: str, *fields: Field) -> MessageType:
    return MessageType(
        Module.MELDINGEN_BEWINDVOERING, code_, title, BEWIND, SE,
        (code("Soort", "BEWIND", "WSNP"), persoon("Klant"),
         text("KlantnummerSE", required=False, max_length=50), *fields, contactpersoon()),
        skp_defined=True,
    )


_MELDINGEN_BEWINDVOERING = (
    _melding("MeldingStartBewind", "Melding start bewind", date("Ingangsdatum"),
             adres("Correspondentieadres"), document("Beschikking", required=True)),
    _melding("MeldingWijzigingBewind", "Melding wijziging bewind", date("Wijzigingsdatum"),
             adres("Correspondentieadres", required=False),
             text("Toelichting", max_length=1000), document("Beschikking")),
    _melding("MeldingEindeBewind", "Melding einde bewind", date("Einddatum"),
             text("Reden", required=False, max_length=1000)),
    MessageType(
        Module.MELDINGEN_BEWINDVOERING, "Ontvangstbevestiging", "Ontvangstbevestiging",
        SE, BEWIND,
        (text("KlantnummerSE", required=False, max_length=50),
         text("Toelichting", required=False, max_length=1000)),
        answers=frozenset({"MeldingStartBewind", "MeldingWijzigingBewind", "MeldingEindeBewind"}),
        skp_defined=True,
    ),
)

_KREDIET = text("KredietKenmerk", max_length=50)  # the kredietbank's own id, e.g. SK-11789-4
_AANVRAAG = (
    _KREDIET,
    code("SoortLening", "PL", "SK", "SL"),
    text("BorgstellingCategorie", max_length=50),
    text("ContactEmail", max_length=254),
    text("PostcodeGebied", pattern=r"[1-9][0-9]{3}", max_length=4),
    amount("BrutoKredietsom"),
    integer("LooptijdMaanden"),
    group("Statistieken", *(text(name, required=False, max_length=100) for name in (
        "Bevolkingsgroep", "BetalendeInstantie", "Kredietdoel", "Leeftijdsgroep",
        "SoortBorgstelling")), required=False),
)
_KREDIETBANK_TYPES = frozenset({
    "RegistreerVoorbeoordeling", "AanvraagBorgstelling", "AanvraagOvername",
    "BeeindigingBorgstelling", "UitbetalingBorgstelling", "VerwerkSaneringskredietenInformatie",
})
_GEBEURTENISSEN = (
    "PRO_FORMA_AFGEGEVEN", "PRO_FORMA_AFGEWEZEN", "BORGSTELLING_AFGEGEVEN", "AANVRAAG_AFGEWEZEN",
    "MAATWERK", "BORGSTELLING_BEEINDIGD", "BORGSTELLING_UITBETAALD", "UITBETAALVERZOEK_AFGEWEZEN",
    "BORGSTELLING_INGETROKKEN", "AANVRAAG_BEEINDIGD",
)

_WAARBORGFONDS = (
    MessageType(Module.WAARBORGFONDS, "RegistreerVoorbeoordeling", "Registreer voorbeoordeling",
                SHV2, WSK, _AANVRAAG),
    MessageType(Module.WAARBORGFONDS, "AanvraagBorgstelling", "Aanvraag borgstelling",
                SHV2, WSK, _AANVRAAG),
    MessageType(Module.WAARBORGFONDS, "AanvraagOvername", "Aanvraag overname", SHV2, WSK,
                (*_AANVRAAG, amount("UitstaandSaldo"), date("DatumUitbetaald"))),
    MessageType(Module.WAARBORGFONDS, "BeeindigingBorgstelling", "Beëindiging borgstelling",
                SHV2, WSK, (_KREDIET, date("DatumBeeindigd"))),
    MessageType(Module.WAARBORGFONDS, "UitbetalingBorgstelling", "Uitbetaling borgstelling",
                SHV2, WSK, (_KREDIET, text("Toelichting", required=False, max_length=1000))),
    MessageType(Module.WAARBORGFONDS, "VerzoekSaneringskredietenInformatie",
                "Verzoek saneringskredieten informatie", WSK, SHV2, (date("Peildatum"),),
                skp_defined=True),
    MessageType(
        Module.WAARBORGFONDS, "VerwerkSaneringskredietenInformatie",
        "Verwerk saneringskredieten informatie", SHV2, WSK,
        (group(
            "Kredieten",
            _KREDIET,
            date("Uitbetaaldatum", required=False),
            amount("BrutoKredietsom"),
            amount("NettoKredietsom"),
            date("LaatsteAflosdatum", required=False),
            amount("Aflossing", required=False),
            amount("Kredietvergoeding", required=False),
            amount("Achterstand", required=False),
            amount("Voorstand", required=False),
            flag("Betalingsregeling", required=False),
            flag("Dubieus", required=False),
            repeated=True,
        ),),
        answers=frozenset({"VerzoekSaneringskredietenInformatie"}),
        reply_optional=True,
    ),
    MessageType(
        Module.WAARBORGFONDS, "Gebeurtenis", "Gebeurtenis", WSK, SHV2,
        (code("Soort", *_GEBEURTENISSEN), _KREDIET, date("Datum"),
         amount("Bedrag", required=False), text("Toelichting", required=False, max_length=1000)),
        answers=_KREDIETBANK_TYPES - {"VerwerkSaneringskredietenInformatie"},
        reply_optional=True,  # e.g. BORGSTELLING_INGETROKKEN comes unprompted
    ),
    MessageType(
        Module.WAARBORGFONDS, "WaarborgfondsFoutbericht", "Waarborgfonds foutbericht", WSK, SHV2,
        (text("KredietKenmerk", required=False, max_length=50), text("Foutcode", max_length=50),
         text("Omschrijving", max_length=1000)),
        answers=_KREDIETBANK_TYPES,
        reply_optional=True,
    ),
)

CATALOGUE: dict[Module, dict[str, MessageType]] = {
    module: {mt.code: mt for mt in types}
    for module, types in (
        (Module.SCHULDREGELING, _SCHULDREGELING),
        (Module.SCHULDINVENTARISATIE, _SCHULDINVENTARISATIE),
        (Module.BETALINGSREGELING, _BETALINGSREGELING),
        (Module.MELDINGEN_BEWINDVOERING, _MELDINGEN_BEWINDVOERING),
        (Module.WAARBORGFONDS, _WAARBORGFONDS),
    )
}


def message_types(module: Module) -> Iterator[MessageType]:
    """The message types of ``module`` in catalogue order."""
    return iter(CATALOGUE[module].values())


def lookup(module: Module, type_code: str) -> MessageType:
    """The type ``type_code`` of ``module``; KeyError when the module has no such type."""
    return CATALOGUE[module][type_code]


@functools.cache
def attaches(mt: MessageType) -> bool:
    """Whether messages of type ``mt`` may carry documents (the mailbox stores them apart, in
    segments; a CSV download leaves them out and counts them)."""
    return any(documents(mt.fields))
