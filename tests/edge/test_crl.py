"""What the edge does when its CRLs are not in order: it refuses everyone of that CA.

Each test starts an edge of its own, in front of the same hub, with another ``crl.pem``.
"""

from __future__ import annotations

import datetime as dt

import trustme

from skp import pki as dev_pki
from tests.e2e.conftest import session_for
from tests.edge.nginx import edge_values, running_edge, signer
from tests.system.serving import free_port


def edge_with_crl(server, pki, directory, crl: bytes):
    values = edge_values(pki, server, directory, port=free_port())
    (directory / dev_pki.CRL).write_bytes(crl)
    return running_edge(directory, values)


def answer(edge, pki):
    return session_for(pki.people["shv"], pki.ca_file).get(f"{edge.url}/healthz", timeout=30)


def test_an_expired_crl_refuses_every_client_of_its_ca(server, pki, tmp_path):
    expired = dev_pki.revocation_list(*signer(pki.authority), [],
                                      now=dt.datetime.now(dt.UTC) - dt.timedelta(days=2), days=1)
    with edge_with_crl(server, pki, tmp_path, expired) as edge:
        refused = answer(edge, pki)
        assert refused.status_code == 400
        assert "CRL has expired" in edge.error_log()


def test_a_ca_without_a_crl_refuses_every_client_of_it(server, pki, tmp_path):
    other = dev_pki.revocation_list(*signer(trustme.CA()), [],  # a CRL, of another CA
                                    now=dt.datetime.now(dt.UTC))
    with edge_with_crl(server, pki, tmp_path, other) as edge:
        refused = answer(edge, pki)
        assert refused.status_code == 400
        assert "unable to get certificate CRL" in edge.error_log()


def test_a_current_crl_lets_the_others_in(server, pki, tmp_path, edge):
    # The counterpart: the edge fixture's CRL is current and revokes pki.revoked only.
    assert answer(edge, pki).status_code == 200

