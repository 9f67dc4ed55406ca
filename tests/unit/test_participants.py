"""The participant register: participants, modules, extensions, certificates and identify.

Runs on SQLite and PostgreSQL through the ``participants`` fixture. Certificates are real
X.509 certificates issued by a throwaway ``trustme`` CA.
"""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
import trustme
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from skp.domain.roles import ROLE_MODULES, Module, Role
from skp.errors import AuthenticationError, NotAllowed, NotFound, SchemaInvalid
from skp.participants import CertificateInfo, ParticipantInfo, fingerprint, load_certificate
from tests.conftest import MONDAY

DAY = dt.timedelta(days=1)
ALLOWED = sorted((role, module) for role in Role for module in ROLE_MODULES[role])
REFUSED = sorted((role, module) for role in Role for module in Module
                 if module not in ROLE_MODULES[role])


@pytest.fixture(scope="module")
def ca():
    return trustme.CA(organization_name="PKIoverheid Test CA")


def issue(ca, *, name="shv.example", organization=None, not_before=None, not_after=None):
    """A leaf certificate as (PEM bytes, parsed certificate)."""
    leaf = ca.issue_cert(name, common_name=name, organization_name=organization,
                         not_before=not_before, not_after=not_after)
    pem = leaf.cert_chain_pems[0].bytes()
    return pem, x509.load_pem_x509_certificate(pem)


@pytest.fixture
def creditor(participants):
    return participants.add(name="Energie BV, unit Noord", role=Role.SE,
                            modules=[Module.SCHULDINVENTARISATIE, Module.BETALINGSREGELING])


# -- adding and reading participants ------------------------------------------------------


def test_add_with_modules(participants):
    info = participants.add(
        name="Gemeente Voorbeeld", role=Role.SHV_FASE2,
        modules=[Module.SCHULDREGELING, Module.WAARBORGFONDS, Module.SCHULDREGELING],
        extension_days=14, kvk_nummer="12345678", vestigingsnummer="000012345678")

    assert isinstance(info, ParticipantInfo)
    assert uuid.UUID(info.id).version == 4
    assert info.name == "Gemeente Voorbeeld"
    assert info.role is Role.SHV_FASE2
    assert info.modules == {Module.SCHULDREGELING, Module.WAARBORGFONDS}
    assert info.uses_bsn is False
    assert info.extension_days == 14
    assert info.active is True
    assert info.kvk_nummer == "12345678"
    assert info.vestigingsnummer == "000012345678"
    assert participants.get(info.id) == info


def test_add_defaults(participants):
    info = participants.add(name="Bewind & Co", role=Role.BEWINDVOERDER)
    assert info.modules == frozenset()
    assert info.extension_days == 0
    assert info.active is True
    assert info.uses_bsn is False
    assert info.kvk_nummer is None
    assert info.vestigingsnummer is None


def test_add_creditor_that_uses_the_bsn(participants):
    info = participants.add(name="Belastingdienst", role=Role.SE, uses_bsn=True)
    assert participants.get(info.id).uses_bsn is True
    assert info.party.uses_bsn is True


def test_add_with_a_given_id_normalises_it(participants):
    given = uuid.uuid4()
    info = participants.add(name="Kredietbank", role=Role.SHV_FASE2,
                            participant_id=str(given).upper())
    assert info.id == str(given)
    assert participants.get(str(given)).id == str(given)
    # Any spelling of the UUID finds the same participant.
    assert participants.get(given.hex).id == str(given)
    assert participants.get(str(given).upper()).id == str(given)


def test_party_carries_the_routing_facts(participants, creditor):
    party = creditor.party
    assert party.id == creditor.id
    assert party.role is Role.SE
    assert party.modules == creditor.modules


def test_all_lists_participants_by_name(participants, people):
    names = [p.name for p in participants.all()]
    assert names == sorted(names)
    assert len(names) == 9
    assert people.wsk.id in {p.id for p in participants.all()}


def test_people_have_every_module_their_role_allows(people):
    assert people.se.modules == ROLE_MODULES[Role.SE]
    assert people.wsk.modules == {Module.WAARBORGFONDS}


@pytest.mark.parametrize(("role", "module"), ALLOWED)
def test_every_allowed_module_can_be_added(participants, role, module):
    assert participants.add(name="x", role=role, modules=[module]).modules == {module}


@pytest.mark.parametrize(("role", "module"), REFUSED)
def test_a_module_outside_the_role_is_refused(participants, role, module):
    with pytest.raises(NotAllowed) as caught:
        participants.add(name="x", role=role, modules=[module])
    assert caught.value.code == "Client.NotAllowed"
    assert str(role) in caught.value.message
    assert str(module) in caught.value.message


def test_se_with_waarborgfonds_is_refused_and_nothing_is_stored(participants):
    with pytest.raises(NotAllowed, match="waarborgfonds"):
        participants.add(name="Energie BV", role=Role.SE,
                         modules=[Module.SCHULDINVENTARISATIE, Module.WAARBORGFONDS])
    assert participants.all() == []


# -- extension of the handling period -----------------------------------------------------


@pytest.mark.parametrize("days", [0, 7, 14, 28])
def test_allowed_extensions(participants, days):
    assert participants.add(name="x", role=Role.SE, extension_days=days).extension_days == days


@pytest.mark.parametrize("days", [5, 1, -7, 21, 30, True])
def test_other_extensions_are_schema_invalid(participants, days):
    with pytest.raises(SchemaInvalid, match="0, 7, 14 or 28"):
        participants.add(name="x", role=Role.SE, extension_days=days)
    assert participants.all() == []


def test_set_extension(participants, creditor):
    assert participants.set_extension(creditor.id, 28).extension_days == 28
    assert participants.get(creditor.id).extension_days == 28
    assert participants.set_extension(creditor.id, 0).extension_days == 0
    assert participants.get(creditor.id).extension_days == 0


def test_set_extension_five_is_refused_and_leaves_it_unchanged(participants, creditor):
    participants.set_extension(creditor.id, 7)
    with pytest.raises(SchemaInvalid):
        participants.set_extension(creditor.id, 5)
    assert participants.get(creditor.id).extension_days == 7


# -- modules on and off -------------------------------------------------------------------


def test_enable_module(participants, creditor):
    info = participants.enable_module(creditor.id, Module.SCHULDREGELING)
    assert info.modules == {Module.SCHULDINVENTARISATIE, Module.BETALINGSREGELING,
                            Module.SCHULDREGELING}
    assert participants.get(creditor.id) == info


def test_enable_module_twice_is_harmless(participants, creditor):
    participants.enable_module(creditor.id, Module.SCHULDINVENTARISATIE)
    info = participants.enable_module(creditor.id, Module.SCHULDINVENTARISATIE)
    assert info.modules == creditor.modules
    assert participants.get(creditor.id).modules == creditor.modules


def test_enable_module_outside_the_role_is_refused(participants, creditor):
    with pytest.raises(NotAllowed):
        participants.enable_module(creditor.id, Module.WAARBORGFONDS)
    assert participants.get(creditor.id).modules == creditor.modules


def test_disable_module(participants, creditor):
    info = participants.disable_module(creditor.id, Module.BETALINGSREGELING)
    assert info.modules == {Module.SCHULDINVENTARISATIE}
    assert participants.get(creditor.id).modules == {Module.SCHULDINVENTARISATIE}


def test_disable_a_module_that_is_off_is_harmless(participants, creditor):
    info = participants.disable_module(creditor.id, Module.SCHULDREGELING)
    assert info.modules == creditor.modules


def test_disable_then_enable_again(participants, creditor):
    participants.disable_module(creditor.id, Module.SCHULDINVENTARISATIE)
    info = participants.enable_module(creditor.id, Module.SCHULDINVENTARISATIE)
    assert info.modules == creditor.modules
    assert participants.get(creditor.id).modules == creditor.modules


def test_modules_of_one_participant_leave_others_alone(participants, people):
    participants.disable_module(people.se.id, Module.SCHULDREGELING)
    assert Module.SCHULDREGELING in participants.get(people.se2.id).modules


# -- deactivate ---------------------------------------------------------------------------


def test_deactivate(participants, creditor):
    info = participants.deactivate(creditor.id)
    assert info.active is False
    assert participants.get(creditor.id).active is False
    assert participants.get(creditor.id).modules == creditor.modules


# -- unknown ids --------------------------------------------------------------------------


@pytest.mark.parametrize("participant_id", [
    str(uuid.uuid4()), "not-a-uuid", "", "'; DROP TABLE participant; --",
])
def test_get_unknown_is_not_found(participants, people, participant_id):
    with pytest.raises(NotFound) as caught:
        participants.get(participant_id)
    assert caught.value.code == "Client.NotFound"


@pytest.mark.parametrize("call", [
    lambda p, pid: p.enable_module(pid, Module.SCHULDINVENTARISATIE),
    lambda p, pid: p.disable_module(pid, Module.SCHULDINVENTARISATIE),
    lambda p, pid: p.set_extension(pid, 7),
    lambda p, pid: p.deactivate(pid),
], ids=["enable_module", "disable_module", "set_extension", "deactivate"])
@pytest.mark.parametrize("participant_id", [str(uuid.uuid4()), "nobody"])
def test_changes_to_unknown_participants_are_not_found(participants, call, participant_id):
    with pytest.raises(NotFound):
        call(participants, participant_id)


# -- certificates -------------------------------------------------------------------------


def test_add_certificate_pem(participants, creditor, ca):
    pem, cert = issue(ca, name="noord.energie.example", organization="Energie BV")

    info = participants.add_certificate(creditor.id, pem)

    assert isinstance(info, CertificateInfo)
    assert info.fingerprint == fingerprint(cert)
    assert len(info.fingerprint) == 64
    assert info.fingerprint == info.fingerprint.lower()
    assert info.participant_id == creditor.id
    assert info.subject == cert.subject.rfc4514_string()
    assert "CN=noord.energie.example" in info.subject
    assert info.issuer == cert.issuer.rfc4514_string()
    assert "PKIoverheid Test CA" in info.issuer
    assert info.serial == format(cert.serial_number, "x")
    assert info.not_before == cert.not_valid_before_utc
    assert info.not_after == cert.not_valid_after_utc
    assert info.revoked_at is None
    assert participants.certificates(creditor.id) == [info]


def test_add_certificate_der(participants, creditor, ca):
    _, cert = issue(ca)
    info = participants.add_certificate(creditor.id, cert.public_bytes(Encoding.DER))
    assert info.fingerprint == fingerprint(cert)
    assert participants.identify(info.fingerprint).id == creditor.id


def test_certificate_dates_round_trip_as_aware_utc(participants, creditor, ca):
    pem, _ = issue(ca, not_before=MONDAY - 30 * DAY, not_after=MONDAY + 365 * DAY)
    participants.add_certificate(creditor.id, pem)
    [stored] = participants.certificates(creditor.id)
    assert stored.not_before == MONDAY - 30 * DAY
    assert stored.not_after == MONDAY + 365 * DAY
    assert stored.not_before.tzinfo == dt.UTC
    assert stored.not_after.tzinfo == dt.UTC


def test_duplicate_certificate_is_refused(participants, creditor, ca):
    pem, cert = issue(ca)
    participants.add_certificate(creditor.id, pem)
    with pytest.raises(SchemaInvalid, match="already registered"):
        participants.add_certificate(creditor.id, pem)
    # The same certificate in DER is the same certificate.
    with pytest.raises(SchemaInvalid, match="already registered"):
        participants.add_certificate(creditor.id, cert.public_bytes(Encoding.DER))
    assert len(participants.certificates(creditor.id)) == 1


def test_a_certificate_cannot_belong_to_two_participants(participants, people, ca):
    pem, cert = issue(ca)
    participants.add_certificate(people.se.id, pem)
    with pytest.raises(SchemaInvalid):
        participants.add_certificate(people.se2.id, pem)
    assert participants.identify(fingerprint(cert)).id == people.se.id
    assert participants.certificates(people.se2.id) == []


@pytest.mark.parametrize("data", [
    b"", b"not a certificate", b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
    b"\x30\x03\x02\x01\x00",
])
def test_garbage_is_not_a_certificate(participants, creditor, data):
    with pytest.raises(SchemaInvalid, match="PEM or DER"):
        participants.add_certificate(creditor.id, data)
    assert participants.certificates(creditor.id) == []


def test_certificate_for_unknown_participant_is_not_found(participants, ca):
    pem, _ = issue(ca)
    with pytest.raises(NotFound):
        participants.add_certificate(str(uuid.uuid4()), pem)
    assert participants.certificates() == []


def test_load_certificate_reads_pem_and_der(ca):
    pem, cert = issue(ca)
    assert load_certificate(pem) == cert
    assert load_certificate(cert.public_bytes(Encoding.DER)) == cert


def test_several_certificates_for_rollover(participants, creditor, ca):
    old_pem, old = issue(ca, not_before=MONDAY - 400 * DAY, not_after=MONDAY + 10 * DAY)
    new_pem, new = issue(ca, not_before=MONDAY - DAY, not_after=MONDAY + 800 * DAY)
    participants.add_certificate(creditor.id, new_pem)
    participants.add_certificate(creditor.id, old_pem)

    listed = participants.certificates(creditor.id)
    assert [c.fingerprint for c in listed] == [fingerprint(old), fingerprint(new)]  # by expiry
    assert participants.identify(fingerprint(old)).id == creditor.id
    assert participants.identify(fingerprint(new)).id == creditor.id


def test_certificates_lists_everyone_or_one(participants, people, ca):
    participants.add_certificate(people.se.id, issue(ca)[0])
    participants.add_certificate(people.shv.id, issue(ca)[0])
    assert {c.participant_id for c in participants.certificates()} == {people.se.id,
                                                                        people.shv.id}
    assert [c.participant_id for c in participants.certificates(people.shv.id)] == [
        people.shv.id]


# -- identify -----------------------------------------------------------------------------


def test_identify_returns_the_participant(participants, creditor, ca):
    pem, cert = issue(ca)
    participants.add_certificate(creditor.id, pem)
    assert participants.identify(fingerprint(cert)) == participants.get(creditor.id)


def test_identify_accepts_an_uppercase_fingerprint(participants, creditor, ca):
    pem, cert = issue(ca)
    participants.add_certificate(creditor.id, pem)
    assert participants.identify(fingerprint(cert).upper()).id == creditor.id


def test_identify_sees_module_changes(participants, creditor, ca):
    pem, cert = issue(ca)
    participants.add_certificate(creditor.id, pem)
    participants.enable_module(creditor.id, Module.SCHULDREGELING)
    assert Module.SCHULDREGELING in participants.identify(fingerprint(cert)).modules


def test_identify_unknown_fingerprint_is_refused(participants, people, ca):
    _, cert = issue(ca)  # issued, never registered
    with pytest.raises(AuthenticationError, match="not registered") as caught:
        participants.identify(fingerprint(cert))
    assert caught.value.code == "Client.Authentication"
    with pytest.raises(AuthenticationError):
        participants.identify("")
    with pytest.raises(AuthenticationError):
        participants.identify("00" * 32)


def test_identify_revoked_certificate_is_refused(participants, creditor, ca, clock):
    pem, cert = issue(ca)
    participants.add_certificate(creditor.id, pem)
    revoked = participants.revoke_certificate(fingerprint(cert))
    assert revoked.revoked_at == clock.now()

    with pytest.raises(AuthenticationError, match="revoked"):
        participants.identify(fingerprint(cert))
    assert participants.certificates(creditor.id)[0].revoked_at == clock.now()


def test_revoking_one_certificate_leaves_the_other(participants, creditor, ca):
    first_pem, first = issue(ca)
    second_pem, second = issue(ca)
    participants.add_certificate(creditor.id, first_pem)
    participants.add_certificate(creditor.id, second_pem)
    participants.revoke_certificate(fingerprint(first).upper())
    with pytest.raises(AuthenticationError):
        participants.identify(fingerprint(first))
    assert participants.identify(fingerprint(second)).id == creditor.id


def test_revocation_scheduled_for_later_takes_effect_then(participants, creditor, ca, clock):
    pem, cert = issue(ca)
    participants.add_certificate(creditor.id, pem)
    participants.revoke_certificate(fingerprint(cert), at=MONDAY + DAY)

    assert participants.identify(fingerprint(cert)).id == creditor.id
    clock.set(MONDAY + DAY)
    with pytest.raises(AuthenticationError, match="revoked"):
        participants.identify(fingerprint(cert))


def test_revoke_unknown_certificate_is_not_found(participants):
    with pytest.raises(NotFound):
        participants.revoke_certificate("ab" * 32)


def test_identify_expired_certificate_is_refused(participants, creditor, ca, clock):
    pem, cert = issue(ca, not_before=MONDAY - 365 * DAY, not_after=MONDAY + 30 * DAY)
    participants.add_certificate(creditor.id, pem)
    assert participants.identify(fingerprint(cert)).id == creditor.id

    clock.set(cert.not_valid_after_utc - dt.timedelta(seconds=1))
    assert participants.identify(fingerprint(cert)).id == creditor.id

    clock.set(cert.not_valid_after_utc + dt.timedelta(seconds=1))
    with pytest.raises(AuthenticationError, match="expired"):
        participants.identify(fingerprint(cert))


def test_identify_certificate_with_validity_in_the_past_is_refused(participants, creditor, ca):
    pem, cert = issue(ca, not_before=MONDAY - 800 * DAY, not_after=MONDAY - DAY)
    participants.add_certificate(creditor.id, pem)  # registering is allowed; using it is not
    with pytest.raises(AuthenticationError, match="expired"):
        participants.identify(fingerprint(cert))


def test_identify_certificate_not_yet_valid_is_refused(participants, creditor, ca, clock):
    pem, cert = issue(ca, not_before=MONDAY + DAY, not_after=MONDAY + 400 * DAY)
    participants.add_certificate(creditor.id, pem)
    with pytest.raises(AuthenticationError, match="not yet valid"):
        participants.identify(fingerprint(cert))
    clock.set(MONDAY + DAY)
    assert participants.identify(fingerprint(cert)).id == creditor.id


def test_identify_deactivated_participant_is_refused(participants, creditor, ca):
    pem, cert = issue(ca)
    participants.add_certificate(creditor.id, pem)
    participants.deactivate(creditor.id)
    with pytest.raises(AuthenticationError, match="not active"):
        participants.identify(fingerprint(cert))


def test_deactivating_one_participant_leaves_the_others(participants, people, ca):
    se_pem, se_cert = issue(ca)
    se2_pem, se2_cert = issue(ca)
    participants.add_certificate(people.se.id, se_pem)
    participants.add_certificate(people.se2.id, se2_pem)
    participants.deactivate(people.se.id)
    with pytest.raises(AuthenticationError):
        participants.identify(fingerprint(se_cert))
    assert participants.identify(fingerprint(se2_cert)).id == people.se2.id


def _refusals(participants, ca):
    """Every way identify refuses, each for a participant whose name is in its certificate."""
    name = "Gemeente Geheimstad Schuldhulp"
    host = "geheimstad.example"
    errors = []

    def register(**validity):
        info = participants.add(name=name, role=Role.SHV_FASE2)
        pem, cert = issue(ca, name=host, organization=name, **validity)
        participants.add_certificate(info.id, pem)
        return info, cert

    _, unknown = issue(ca, name=host, organization=name)
    _, revoked = register()
    participants.revoke_certificate(fingerprint(revoked))
    _, expired = register(not_before=MONDAY - 800 * DAY, not_after=MONDAY - DAY)
    _, early = register(not_before=MONDAY + DAY, not_after=MONDAY + 800 * DAY)
    inactive_info, inactive = register()
    participants.deactivate(inactive_info.id)

    for cert in (unknown, revoked, expired, early, inactive):
        with pytest.raises(AuthenticationError) as caught:
            participants.identify(fingerprint(cert))
        errors.append((caught.value, cert))
    return name, host, errors


def test_authentication_errors_name_no_one(participants, ca):
    name, host, errors = _refusals(participants, ca)
    assert len(errors) == 5
    for error, cert in errors:
        texts = [str(error), error.message, repr(error.args)]
        for text in texts:
            assert name not in text
            assert "Geheimstad" not in text
            assert host not in text
            assert cert.subject.rfc4514_string() not in text
            assert "CN=" not in text
            assert "PKIoverheid" not in text  # nor the issuer
        assert error.message_id is None


# -- edges found in review ----------------------------------------------------------------

def test_a_revocation_is_never_postponed(participants, creditor, ca):
    pem, cert = issue(ca)
    participants.add_certificate(creditor.id, pem)
    participants.revoke_certificate(fingerprint(cert))
    later = participants.revoke_certificate(fingerprint(cert), at=MONDAY + 30 * DAY)
    assert later.revoked_at == MONDAY
    with pytest.raises(AuthenticationError):
        participants.identify(fingerprint(cert))


def test_an_uppercase_participant_id_is_the_same_participant(participants, creditor, ca):
    pem, cert = issue(ca)
    info = participants.add_certificate(creditor.id.upper(), pem)
    assert info.participant_id == creditor.id
    assert [c.fingerprint for c in participants.certificates(creditor.id.upper())] == [
        fingerprint(cert)]


@pytest.mark.parametrize("participant_id", ["not-a-uuid", ""])
def test_add_with_an_invalid_id_is_schema_invalid(participants, participant_id):
    with pytest.raises(SchemaInvalid):
        participants.add(name="X", role=Role.SE, participant_id=participant_id or "   ")


def test_add_with_an_existing_id_is_schema_invalid(participants, creditor):
    with pytest.raises(SchemaInvalid, match="already exists"):
        participants.add(name="Y", role=Role.SE, participant_id=creditor.id)


def test_a_certificate_is_valid_up_to_and_including_not_after(participants, creditor, ca,
                                                              clock):
    pem, cert = issue(ca, not_before=MONDAY - DAY, not_after=MONDAY + DAY)
    participants.add_certificate(creditor.id, pem)
    clock.set(cert.not_valid_after_utc)
    assert participants.identify(fingerprint(cert)).id == creditor.id
