"""Who an eHerkenning login is, and what an administrator may enter or ask."""

from __future__ import annotations

import pytest

from skp.domain.organisation import (
    ClaimNames,
    RequestKind,
    check_request,
    formatted_iban,
    iban,
    login,
)
from skp.domain.roles import Module, Role
from skp.errors import LoginRefused

NAMES = ClaimNames()
PORTAL, BEHEER = "urn:portaal", "urn:beheer"


def claims(**changes):
    base = {NAMES.legal_subject: "90000002", NAMES.acting_subject: "pseudo-1",
            NAMES.service: PORTAL, NAMES.assurance: "urn:etoegang:core:assurance-class:loa3"}
    return {k: v for k, v in {**base, **changes}.items() if v is not None}


def who(**changes):
    return login(claims(**changes), NAMES, portal_service=PORTAL, beheer_service=BEHEER)


def test_an_employee_and_an_administrator():
    employee = who()
    assert (employee.kvk_nummer, employee.acting_subject, employee.administrator) == (
        "90000002", "pseudo-1", False)
    assert who(**{NAMES.service: BEHEER}).administrator
    assert who(**{NAMES.vestiging: "000090000021"}).vestiging == "000090000021"
    assert who(**{NAMES.legal_subject: "urn:etoegang:1.9:EntityConcernedID:KvKnr:90000002"}
               ).kvk_nummer == "90000002"


@pytest.mark.parametrize(("change", "reason"), [
    ({NAMES.assurance: "urn:etoegang:core:assurance-class:loa2plus"}, "assurance"),
    ({NAMES.assurance: "urn:etoegang:core:assurance-class:loa1"}, "assurance"),
    ({NAMES.assurance: None}, "assurance"),
    ({NAMES.assurance: "loa3"}, "assurance"),
    ({NAMES.service: "urn:other"}, "service"),
    ({NAMES.service: None}, "service"),
    ({NAMES.legal_subject: None}, "claims"),
    ({NAMES.legal_subject: "1234"}, "claims"),
    ({NAMES.acting_subject: " "}, "claims"),
])
def test_refused_logins(change, reason):
    with pytest.raises(LoginRefused) as refused:
        who(**change)
    assert refused.value.reason == reason
    assert "90000002" not in refused.value.message and "pseudo" not in refused.value.message


def test_eh4_is_accepted():
    assert who(**{NAMES.assurance: "urn:etoegang:core:assurance-class:loa4"})


def test_ibans():
    assert iban("nl91 abna 0417 1643 00") == "NL91ABNA0417164300"
    assert formatted_iban("NL91ABNA0417164300") == "NL91 ABNA 0417 1643 00"
    for wrong in ("NL91ABNA0417164301", "NL91", "", "DE00000000000000000000"):
        with pytest.raises(ValueError, match="geen geldig IBAN"):
            iban(wrong)


def test_requests():
    kwargs = {"role": Role.SE, "modules": frozenset({Module.SCHULDREGELING}),
              "extension_days": 7}
    assert check_request(RequestKind.MODULE, "betalingsregeling", **kwargs) == "betalingsregeling"
    assert check_request(RequestKind.EXTENSION, "14", **kwargs) == "14"
    for kind, value, says in (
            (RequestKind.MODULE, "schuldregeling", "staat al aan"),
            (RequestKind.MODULE, "waarborgfonds", "niet voor uw soort"),
            (RequestKind.MODULE, "nee", "kies een module"),
            (RequestKind.EXTENSION, "7", "heeft u al"),
            (RequestKind.EXTENSION, "0", "kies 7, 14 of 28"),
            (RequestKind.EXTENSION, "30", "kies 7, 14 of 28")):
        with pytest.raises(ValueError, match=says):
            check_request(kind, value, **kwargs)
