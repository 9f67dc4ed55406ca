"""The catalogue as data, and each module's conversations walked through the pure rules.

A conversation is walked the way the mailbox handles a message: ``check_route``, then
``check_reply``, then ``validate_body`` of an example body. Refusals name the exact error class,
because ``ModuleNotEnabled`` is a subclass of ``NotAllowed`` and the two mean different fixes.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import pytest

from skp.domain.catalogue import CATALOGUE, lookup, message_types
from skp.domain.examples import example_body
from skp.domain.fields import Kind
from skp.domain.matching import claim_references, expand_non_matched
from skp.domain.roles import HELPERS, MODULE_INFO, ROLE_MODULES, Module, Role, may_enable
from skp.domain.routing import Original, Party, check_reply, check_route
from skp.domain.validation import validate_body
from skp.errors import InvalidReply, ModuleNotEnabled, NotAllowed, SchemaInvalid

M = Module
ALL_TYPES = [mt for module in Module for mt in message_types(module)]
REPLIES = [(mt, answered) for mt in ALL_TYPES for answered in sorted(mt.answers)]


def type_id(mt):
    return f"{mt.module}:{mt.code}"


def new_id():
    return str(uuid.uuid4())


# --- the catalogue as data -------------------------------------------------------------------

#: domain.md §3, written out again by hand so that a change to roles.py must be deliberate.
ROLE_TABLE = {
    Role.SE: {M.MELDINGEN_BEWINDVOERING, M.SCHULDINVENTARISATIE, M.BETALINGSREGELING,
              M.SCHULDREGELING},
    Role.SHV_FASE1: {M.SCHULDINVENTARISATIE, M.BETALINGSREGELING},
    Role.SHV_FASE2: {M.SCHULDINVENTARISATIE, M.BETALINGSREGELING, M.SCHULDREGELING,
                     M.WAARBORGFONDS},
    Role.SHV_OVERIG: {M.SCHULDINVENTARISATIE, M.BETALINGSREGELING},
    Role.BEWINDVOERDER: {M.MELDINGEN_BEWINDVOERING, M.SCHULDINVENTARISATIE, M.BETALINGSREGELING},
    Role.WSK: {M.WAARBORGFONDS},
}


@pytest.mark.parametrize("module", Module)
@pytest.mark.parametrize("role", Role)
def test_roles_and_modules_follow_domain_table(role, module):
    assert may_enable(role, module) is (module in ROLE_TABLE[role])


def test_helpers_are_every_role_that_asks_creditors():
    assert set(Role) - {Role.SE, Role.WSK} == HELPERS


@pytest.mark.parametrize("module", Module)
def test_every_module_has_info_and_message_types(module):
    assert MODULE_INFO[module].version
    types = list(message_types(module))
    assert types
    assert [mt.code for mt in types] == list(CATALOGUE[module])
    assert all(mt.module is module and lookup(module, mt.code) is mt for mt in types)


@pytest.mark.parametrize("mt", ALL_TYPES, ids=type_id)
def test_senders_and_recipients_may_have_the_module(mt):
    assert mt.senders
    assert mt.recipients
    for role in mt.senders | mt.recipients:
        assert may_enable(role, mt.module), role


@pytest.mark.parametrize("mt", ALL_TYPES, ids=type_id)
def test_answers_name_types_of_the_same_module(mt):
    assert mt.answers <= CATALOGUE[mt.module].keys()
    assert mt.code not in mt.answers
    assert mt.is_reply is bool(mt.answers)
    if mt.reply_optional:
        assert mt.is_reply


@pytest.mark.parametrize(("mt", "answered"), REPLIES,
                         ids=[f"{type_id(mt)}->{code}" for mt, code in REPLIES])
def test_replies_go_back_the_way_the_original_came(mt, answered):
    original = lookup(mt.module, answered)
    assert original.senders <= mt.recipients
    assert mt.senders <= original.recipients


@pytest.mark.parametrize("mt", ALL_TYPES, ids=type_id)
def test_role_attachments_are_optional_document_fields(mt):
    for role, name in mt.required_by_role:
        assert role in mt.senders
        assert mt.field(name).kind is Kind.DOCUMENT
        assert not mt.field(name).required  # other senders need not attach it


def test_only_the_kennisgevingen_depend_on_the_bsn_flag():
    flagged = {mt.code: mt.recipient_uses_bsn for mt in ALL_TYPES
               if mt.recipient_uses_bsn is not None}
    assert flagged == {"Kennisgeving": False, "KennisgevingPubliek": True}


def test_field_lookup_raises_key_error_for_unknown_names():
    with pytest.raises(KeyError):
        lookup(M.SCHULDREGELING, "Saldoverzoek").field("Bestaat niet")


# --- walking conversations --------------------------------------------------------------------


def party(role, *, modules=None, uses_bsn=False):
    """A participant with every module its role may have, unless ``modules`` says otherwise."""
    enabled = ROLE_MODULES[role] if modules is None else frozenset(modules)
    return Party(new_id(), role, enabled, uses_bsn)


@dataclass(frozen=True)
class Sent:
    """A message that passed every pure rule."""

    id: str
    module: Module
    code: str
    sender: Party
    recipient: Party
    conversation_id: str
    body: dict[str, Any]

    def original(self):
        return Original(self.id, self.module, self.code, self.sender.id, self.recipient.id,
                        self.conversation_id)


def send(module, code, sender, recipient, *, answering=None, conversation=None, full=False,
         fields=None, without=()):
    """Run one message through the rules as the mailbox does; return it as sent.

    The body is the catalogue's example for the sender's role, with ``fields`` set and the
    top-level fields in ``without`` left out.
    """
    mt = lookup(module, code)
    check_route(mt, sender, recipient)
    if conversation is None:
        conversation = answering.conversation_id if answering else new_id()
    check_reply(mt, sender_id=sender.id, recipient_id=recipient.id, conversation_id=conversation,
                cross_reference=answering.id if answering else None,
                original=answering.original() if answering else None)
    body = example_body(mt, full=full, sender_role=sender.role) | (fields or {})
    for name in without:
        del body[name]
    return Sent(new_id(), module, code, sender, recipient, conversation,
                validate_body(mt, body, sender.role))


def reply(original, code, **kwargs):
    """``code`` from the original's recipient back to its sender, in its conversation."""
    return send(original.module, code, original.recipient, original.sender, answering=original,
                **kwargs)


def assert_refused(error, module, code, sender, recipient, **kwargs):
    with pytest.raises(error) as info:
        send(module, code, sender, recipient, **kwargs)
    assert type(info.value) is error, info.value


def assert_bad_replies_refused(original, code, *, unanswered):
    """Every way of getting a reply wrong is InvalidReply; ``unanswered`` is a message sent to
    the same replier by the same asker that ``code`` does not answer."""
    replier, asker = original.recipient, original.sender
    mt = lookup(original.module, code)
    bad = [
        ("cannot answer", dict(sender=replier, recipient=asker, answering=unanswered)),
        ("stays in the conversation",
         dict(sender=replier, recipient=asker, answering=original, conversation=new_id())),
        ("not a message sent to you",
         dict(sender=party(replier.role), recipient=asker, answering=original)),
        ("goes back to the sender",
         dict(sender=replier, recipient=party(asker.role), answering=original)),
    ]
    if not mt.reply_optional:
        bad.append(("set CrossReferentienummer", dict(sender=replier, recipient=asker)))
    for why, kwargs in bad:
        with pytest.raises(InvalidReply, match=why):
            send(original.module, code, **kwargs)


def assert_not_a_reply(module, code, sender, recipient, *, answering):
    with pytest.raises(InvalidReply, match="is not a reply"):
        send(module, code, sender, recipient, answering=answering)


def test_schuldregeling_conversations():
    m = M.SCHULDREGELING
    shv, se, se_bsn = party(Role.SHV_FASE2), party(Role.SE), party(Role.SE, uses_bsn=True)

    kennisgeving = send(m, "Kennisgeving", shv, se, full=True)
    assert "Bsn" not in kennisgeving.body["Klant"]
    reply(kennisgeving, "KennisgevingAntwoord", full=True)
    reply(kennisgeving, "GeenMedewerking")
    publiek = send(m, "KennisgevingPubliek", shv, se_bsn)
    assert publiek.body["Klant"]["Bsn"]
    reply(publiek, "KennisgevingAntwoord")
    reply(publiek, "GeenMedewerking")
    with pytest.raises(NotAllowed, match="send KennisgevingPubliek instead"):
        send(m, "Kennisgeving", shv, se_bsn)
    with pytest.raises(NotAllowed, match="send Kennisgeving instead"):
        send(m, "KennisgevingPubliek", shv, se)

    claims = [{"FactuurnummerSEVolgensSHV": ref} for ref in ("F-1", "F-2")]
    saldoverzoek = send(m, "Saldoverzoek", shv, se, full=True, fields={"Vorderingen": claims})
    antwoord = reply(saldoverzoek, "SaldoverzoekAntwoord", full=True)  # a non-matched one
    expanded = expand_non_matched(antwoord.body, claim_references(saldoverzoek.body))
    assert len(expanded["Vorderingen"]) == 3  # the creditor's own line and two zero lines
    reply(saldoverzoek, "SaldoverzoekAntwoordVoorafAkkoord")
    reply(saldoverzoek, "GeenMedewerking", fields={"Reden": "KLANT_ONBEKEND"})

    voorstel = send(m, "Betaalvoorstel", shv, se)
    afwijzing = reply(voorstel, "BetaalvoorstelAntwoord", fields={"Akkoord": False})
    heroverweging = reply(afwijzing, "Heroverweging")
    assert reply(heroverweging, "BetaalvoorstelAntwoord").body["Akkoord"] is True
    send(m, "SchuldregelingAkkoord", shv, se, conversation=voorstel.conversation_id)
    send(m, "SchuldregelingBeeindigd", shv, se, conversation=voorstel.conversation_id)

    statusverzoek = send(m, "Statusverzoek", se, shv)
    reply(statusverzoek, "StatusberichtShv")
    send(m, "StatusberichtShv", shv, se)  # also travels unprompted
    send(m, "StatusberichtSe", se, shv)

    assert_refused(NotAllowed, m, "Saldoverzoek", se, shv)  # creditors do not ask balances
    assert_refused(NotAllowed, m, "Saldoverzoek", shv, party(Role.SHV_FASE2))
    assert_refused(ModuleNotEnabled, m, "Saldoverzoek", party(Role.SHV_FASE1), se)
    assert_refused(ModuleNotEnabled, m, "Saldoverzoek", shv,
                   party(Role.SE, modules={M.SCHULDINVENTARISATIE}))
    for foreign in ("Betalingsvoorstel", "MeldingStartBewind", "AanvraagBorgstelling"):
        with pytest.raises(KeyError):
            lookup(m, foreign)

    assert_bad_replies_refused(kennisgeving, "KennisgevingAntwoord", unanswered=saldoverzoek)
    assert_bad_replies_refused(saldoverzoek, "SaldoverzoekAntwoord", unanswered=kennisgeving)
    assert_bad_replies_refused(saldoverzoek, "GeenMedewerking", unanswered=voorstel)
    assert_bad_replies_refused(voorstel, "BetaalvoorstelAntwoord", unanswered=saldoverzoek)
    assert_bad_replies_refused(afwijzing, "Heroverweging", unanswered=statusverzoek)
    assert_bad_replies_refused(statusverzoek, "StatusberichtShv", unanswered=afwijzing)
    assert_not_a_reply(m, "StatusberichtSe", se, shv, answering=saldoverzoek)
    assert_not_a_reply(m, "Betaalvoorstel", shv, se, answering=antwoord)


# Who must attach what to a Saldoverzoek of the helper modules (domain.md §3).
ATTACHMENTS = {Role.SHV_FASE1: None, Role.SHV_FASE2: None,
               Role.SHV_OVERIG: "Toestemmingsverklaring", Role.BEWINDVOERDER: "Beschikking"}


def test_schuldinventarisatie_conversations():
    m = M.SCHULDINVENTARISATIE
    se = party(Role.SE)
    for role, attachment in ATTACHMENTS.items():
        helper = party(role)
        saldoverzoek = send(m, "Saldoverzoek", helper, se)
        if attachment:
            assert saldoverzoek.body[attachment]
            with pytest.raises(SchemaInvalid, match=f"must attach {attachment}"):
                send(m, "Saldoverzoek", helper, se, without=[attachment])
        antwoord = reply(saldoverzoek, "SaldoverzoekAntwoord", full=True)
        reply(saldoverzoek, "GeenMedewerking")
        # A Saldoverzoek of another module is not answered in this one.
        elsewhere = send(M.BETALINGSREGELING, "Saldoverzoek", helper, se)
        assert_bad_replies_refused(saldoverzoek, "SaldoverzoekAntwoord", unanswered=elsewhere)
        assert_bad_replies_refused(saldoverzoek, "GeenMedewerking", unanswered=elsewhere)
        assert_not_a_reply(m, "Saldoverzoek", helper, se, answering=antwoord)

    assert_refused(NotAllowed, m, "Saldoverzoek", se, party(Role.SHV_FASE1))
    assert_refused(NotAllowed, m, "SaldoverzoekAntwoord", party(Role.SHV_FASE1), se)
    assert_refused(ModuleNotEnabled, m, "Saldoverzoek", party(Role.WSK), se)
    assert_refused(ModuleNotEnabled, m, "Saldoverzoek", party(Role.SHV_FASE1),
                   party(Role.SE, modules={M.SCHULDREGELING}))
    for foreign in ("Kennisgeving", "Betalingsvoorstel", "SaldoverzoekAntwoordVoorafAkkoord"):
        with pytest.raises(KeyError):
            lookup(m, foreign)


def test_betalingsregeling_conversations():
    m = M.BETALINGSREGELING
    se = party(Role.SE)
    for role, attachment in ATTACHMENTS.items():
        helper = party(role)
        saldoverzoek = send(m, "Saldoverzoek", helper, se, full=True)
        assert saldoverzoek.body["TypeSchuldregeling"] == "BR"
        if attachment:
            with pytest.raises(SchemaInvalid, match=f"must attach {attachment}"):
                send(m, "Saldoverzoek", helper, se, without=[attachment])
        reply(saldoverzoek, "SaldoverzoekAntwoord")
        reply(saldoverzoek, "GeenMedewerking")
        voorstel = send(m, "Betalingsvoorstel", helper, se, full=True)
        reply(voorstel, "BetalingsvoorstelAntwoord", full=True)
        geen_medewerking = reply(voorstel, "GeenMedewerking")

        assert_bad_replies_refused(saldoverzoek, "SaldoverzoekAntwoord", unanswered=voorstel)
        assert_bad_replies_refused(voorstel, "BetalingsvoorstelAntwoord",
                                   unanswered=saldoverzoek)
        assert_not_a_reply(m, "Betalingsvoorstel", helper, se, answering=geen_medewerking)

    with pytest.raises(SchemaInvalid, match="TypeSchuldregeling must be one of BR, HF"):
        send(m, "Saldoverzoek", party(Role.SHV_FASE1), se, fields={"TypeSchuldregeling": "SB"})
    assert_refused(NotAllowed, m, "Betalingsvoorstel", se, party(Role.SHV_FASE1))
    assert_refused(NotAllowed, m, "Betalingsvoorstel", party(Role.SHV_FASE1),
                   party(Role.BEWINDVOERDER))
    assert_refused(ModuleNotEnabled, m, "Betalingsvoorstel", party(Role.WSK), se)
    for foreign in ("Betaalvoorstel", "Heroverweging", "Ontvangstbevestiging"):
        with pytest.raises(KeyError):
            lookup(m, foreign)


def test_meldingen_bewindvoering_conversations():
    m = M.MELDINGEN_BEWINDVOERING
    bewind, se = party(Role.BEWINDVOERDER), party(Role.SE)
    meldingen = [send(m, code, bewind, se, full=full)
                 for code in ("MeldingStartBewind", "MeldingWijzigingBewind", "MeldingEindeBewind")
                 for full in (False, True)]
    for melding in meldingen:
        reply(melding, "Ontvangstbevestiging")
    start = meldingen[0]
    assert start.body["Beschikking"]
    with pytest.raises(SchemaInvalid, match="field Beschikking is required"):
        send(m, "MeldingStartBewind", bewind, se, without=["Beschikking"])

    assert_refused(NotAllowed, m, "MeldingStartBewind", se, party(Role.SE))
    assert_refused(NotAllowed, m, "MeldingStartBewind", bewind, party(Role.BEWINDVOERDER))
    assert_refused(ModuleNotEnabled, m, "MeldingStartBewind", party(Role.SHV_FASE2), se)
    assert_refused(ModuleNotEnabled, m, "MeldingEindeBewind", bewind,
                   party(Role.SE, modules={M.SCHULDREGELING}))
    for foreign in ("Saldoverzoek", "GeenMedewerking", "Gebeurtenis"):
        with pytest.raises(KeyError):
            lookup(m, foreign)

    elsewhere = send(M.SCHULDINVENTARISATIE, "Saldoverzoek", bewind, se)
    assert_bad_replies_refused(start, "Ontvangstbevestiging", unanswered=elsewhere)
    bevestiging = reply(start, "Ontvangstbevestiging")
    assert_not_a_reply(m, "MeldingEindeBewind", bewind, se, answering=bevestiging)


KREDIETBANK_REQUESTS = ("RegistreerVoorbeoordeling", "AanvraagBorgstelling", "AanvraagOvername",
                        "BeeindigingBorgstelling", "UitbetalingBorgstelling")


def test_waarborgfonds_conversations():
    m = M.WAARBORGFONDS
    kredietbank, wsk = party(Role.SHV_FASE2), party(Role.WSK)

    aanvraag = send(m, "AanvraagBorgstelling", kredietbank, wsk, full=True)
    afgegeven = reply(aanvraag, "Gebeurtenis", fields={"Soort": "BORGSTELLING_AFGEGEVEN"})
    assert afgegeven.body["Soort"] == "BORGSTELLING_AFGEGEVEN"
    for code in KREDIETBANK_REQUESTS:
        request = send(m, code, kredietbank, wsk)
        reply(request, "Gebeurtenis")
        reply(request, "WaarborgfondsFoutbericht")
    verzoek = send(m, "VerzoekSaneringskredietenInformatie", wsk, kredietbank)
    verwerk = reply(verzoek, "VerwerkSaneringskredietenInformatie", full=True)
    reply(verwerk, "WaarborgfondsFoutbericht")
    send(m, "VerwerkSaneringskredietenInformatie", kredietbank, wsk)  # also unprompted
    ingetrokken = send(m, "Gebeurtenis", wsk, kredietbank,
                       fields={"Soort": "BORGSTELLING_INGETROKKEN"})
    send(m, "WaarborgfondsFoutbericht", wsk, kredietbank)

    assert_refused(NotAllowed, m, "Gebeurtenis", kredietbank, wsk)
    assert_refused(NotAllowed, m, "AanvraagBorgstelling", kredietbank, party(Role.SHV_FASE2))
    assert_refused(ModuleNotEnabled, m, "AanvraagBorgstelling", party(Role.SE), wsk)
    assert_refused(ModuleNotEnabled, m, "AanvraagBorgstelling",
                   party(Role.SHV_FASE2, modules={M.SCHULDREGELING}), wsk)
    for foreign in ("Saldoverzoek", "Kennisgeving", "Ontvangstbevestiging"):
        with pytest.raises(KeyError):
            lookup(m, foreign)

    # Gebeurtenis answers the kredietbank's requests, but not its Verwerk… message.
    assert_bad_replies_refused(aanvraag, "Gebeurtenis", unanswered=verwerk)
    assert_bad_replies_refused(verzoek, "VerwerkSaneringskredietenInformatie",
                               unanswered=ingetrokken)
    assert_not_a_reply(m, "AanvraagBorgstelling", kredietbank, wsk, answering=afgegeven)
    assert_not_a_reply(m, "VerzoekSaneringskredietenInformatie", wsk, kredietbank,
                       answering=verwerk)


def _walk(fields, repeated=False):
    for f in fields:
        yield f, repeated or f.repeated
        yield from _walk(f.children, repeated or f.repeated)


@pytest.mark.parametrize("module", list(Module))
def test_documents_never_repeat_and_have_names_of_their_own(module):
    """The XML reader knows a document by its element's name alone, and refuses a request with
    more documents than a message type of its module has (skp.server.HubApp)."""
    found = [(f, repeated) for mt in message_types(module) for f, repeated in _walk(mt.fields)]
    assert not any(repeated for f, repeated in found if f.kind is Kind.DOCUMENT)
    names = {f.name for f, _ in found if f.kind is Kind.DOCUMENT}
    assert not any(f.name in names for f, _ in found if f.kind is not Kind.DOCUMENT)
