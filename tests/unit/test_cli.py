"""The ``skp`` command line through click's CliRunner: every command, and bad input."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID
from sqlalchemy import create_engine, insert, inspect, select

from skp import identities, pki
from skp.cli import cli
from skp.demo import CAST
from skp.store.models import IdentityLease, RegisterVersion
from tests.unit.conftest import UUID


def test_migrate_creates_database_and_kek(skp, env, tmp_path):
    first = skp("migrate")
    assert "created key-encryption key" in first
    tables = inspect(create_engine(env["SKP_DATABASE_URL"])).get_table_names()
    assert {"participant", "certificate", "message", "claim_context"} <= set(tables)
    assert json.loads((tmp_path / "kek.json").read_text())["current"] in first
    assert "created" not in skp("migrate")


def test_bad_setting_exits_2_with_the_fix(skp):
    output = skp("migrate", expect=2, SKP_WORKING_DAYS="vier")
    assert "SKP_WORKING_DAYS" in output and "Set it to" in output


def test_production_refuses_to_invent_a_kek(skp, tmp_path):
    output = skp("migrate", expect=2, SKP_ENVIRONMENT="production")
    assert "provision it" in output
    assert not (tmp_path / "kek.json").exists()


def test_every_command_has_help(skp):
    def commands(group, prefix=()):
        for name, command in group.commands.items():
            yield (*prefix, name)
            if hasattr(command, "commands"):
                yield from commands(command, (*prefix, name))

    names = list(commands(cli))
    assert len(names) >= 20
    for name in [(), *names]:
        assert "Usage" in skp(*name, "--help")


def test_participants_lifecycle(migrated):
    out = migrated("participants", "add", "--name", "Energie BV, unit Noord", "--role", "SE",
                   "--module", "schuldregeling", "--module", "schuldinventarisatie")
    participant = UUID.search(out).group()
    assert "schuldinventarisatie, schuldregeling" in out
    assert participant in migrated("participants", "list")
    assert "betalingsregeling" in migrated("participants", "enable-module", participant,
                                           "betalingsregeling")
    assert "schuldregeling" not in migrated("participants", "disable-module", participant,
                                            "schuldregeling").split("modules:")[1]
    assert "extension 14 days" in migrated("participants", "set-extension", participant, "14")
    assert "INACTIVE" in migrated("participants", "deactivate", participant)
    assert "INACTIVE" in migrated("participants", "show", participant)


def test_participant_data_is_validated_and_can_be_updated(migrated):
    def add(*extra, expect=0):
        return migrated("participants", "add", "--role", "SE", *extra, expect=expect)

    assert "KvK-nummer is exactly 8 digits" in add("--name", "X", "--kvk", "abc", expect=2)
    assert "vestigingsnummer is exactly 12 digits" in add("--name", "X", "--kvk", "12345678",
                                                          "--vestiging", "12", expect=2)
    assert "1 to 200 characters" in add("--name", "", expect=2)
    assert "1 to 200 characters" in add("--name", "x" * 300, expect=2)
    assert migrated("participants", "list") == ""
    participant = UUID.search(add("--name", "Energie", "--kvk", "12345678")).group()
    out = migrated("participants", "update", participant, "--name", "Energie Noord",
                   "--vestiging", "000012345678", "--uses-bsn")
    assert "Energie Noord" in out and "KvK 12345678 000012345678" in out
    assert "uses BSN: yes" in out
    assert "KvK" not in migrated("participants", "update", participant, "--kvk", "",
                                 "--vestiging", "", "--no-uses-bsn")
    assert "exactly 8 digits" in migrated("participants", "update", participant, "--kvk", "1",
                                          expect=2)
    assert "give at least one of" in migrated("participants", "update", participant, expect=2)
    assert "INACTIVE" in migrated("participants", "deactivate", participant)
    assert "INACTIVE" not in migrated("participants", "reactivate", participant)
    assert "no participant nobody" in migrated("participants", "reactivate", "nobody", expect=2)


@pytest.mark.parametrize(("args", "message"), [
    (["participants", "add", "--name", "X", "--role", "BANK"], "'BANK' is not one of"),
    (["participants", "add", "--name", "X", "--role", "SE", "--module", "waarborgfonds"],
     "cannot take part in module waarborgfonds"),
    (["participants", "add", "--name", "X", "--role", "SE", "--id", "nope"], "UUID"),
    (["participants", "set-extension", "5f1b8b9e-0000-4000-8000-000000000000", "5"],
     "'5' is not one of"),
    (["participants", "show", "nobody"], "no participant nobody"),
    (["certs", "revoke", "abc"], "no certificate with fingerprint abc"),
    (["certs", "list", "--participant", "nobody"], "no participant nobody"),
])
def test_bad_input_exits_2(migrated, args, message):
    assert message in migrated(*args, expect=2)


def test_dev_pki_demo_participants_and_certificates(migrated, tmp_path):
    certs = tmp_path / "certs"
    assert "ca.pem" in migrated("pki", "init-dev", "--dir", certs)
    assert "exists" in migrated("pki", "init-dev", "--dir", certs, "--if-missing")
    assert "--force" in migrated("pki", "init-dev", "--dir", certs, expect=2)
    assert "rsa keys" in migrated("pki", "init-dev", "--dir", tmp_path / "rsa", "--key", "rsa")
    assert "'dsa' is not one of" in migrated("pki", "init-dev", "--dir", tmp_path / "dsa",
                                             "--key", "dsa", expect=2)
    out = migrated("participants", "add-demo", "--certs", certs)
    assert out.count("added") == len(CAST)
    assert out.count("exists") == 0
    assert migrated("participants", "add-demo", "--certs", certs).count("exists") == len(CAST)
    shv = CAST[0]
    listed = migrated("certs", "list", "--participant", shv.id)
    fingerprint = listed.split()[0]
    assert (certs / "shv.pem").exists() and (certs / "shv.key").stat().st_mode & 0o077 == 0

    issued = migrated("certs", "issue-dev", shv.id, "--certs", certs)
    assert "gemeente-voorbeeld-schuldhulpverlening.pem" in issued
    assert len(migrated("certs", "list", "--participant", shv.id).splitlines()) == 2
    assert "REVOKED" in migrated("certs", "revoke", fingerprint)
    assert "revoked" in migrated("participants", "show", shv.id)
    ca = {"SKP_TLS_CLIENT_CA": str(certs / "ca.pem")}
    assert "already registered" in migrated("certs", "add", shv.id, certs / "shv.pem",
                                            expect=2, **ca)
    assert "not a PEM or DER" in migrated("certs", "add", shv.id, certs / "shv.key",
                                          expect=2, **ca)


def test_a_register_command_warns_when_a_server_process_has_not_applied_it(
        migrated, env, monkeypatch):
    """A server process that renews its lease but has not applied the change (it cannot
    happen while its watch works: a renewal carries the register's version) is named."""
    monkeypatch.setattr(identities, "LEASE", 0.3)
    shv = migrated("participants", "add", "--name", "SHV", "--role", "SHV_FASE2")
    engine = create_engine(env["SKP_DATABASE_URL"])
    with engine.begin() as conn:
        version = conn.execute(select(RegisterVersion.version)).scalar_one()
        conn.execute(insert(IdentityLease).values(process="stuck", version=version,
                                                  renewed_at=identities.Now() + 3600))
    engine.dispose()
    out = migrated("participants", "deactivate", UUID.search(shv).group(0))
    assert "INACTIVE" in out
    assert "Warning: 1 server process(es) have not confirmed the change" in out


def test_certs_need_the_dev_ca(migrated, tmp_path):
    out = migrated("participants", "add-demo", "--certs", tmp_path / "nothing", expect=2)
    assert "run `skp pki init-dev` first" in out
    out = migrated("certs", "issue-dev", CAST[0].id, "--certs", tmp_path / "nothing",
                   expect=2)
    assert "run `skp pki init-dev` first" in out


def test_the_edges_certificate_and_the_crl(skp, tmp_path):
    certs = tmp_path / "certs"
    assert "run `skp pki init-dev` first" in skp("pki", "issue-edge", "--dir", certs, expect=2)
    skp("pki", "init-dev", "--dir", certs)
    assert "edge.pem" in skp("pki", "issue-edge", "--dir", certs)
    edge = x509.load_pem_x509_certificate((certs / "edge.pem").read_bytes())
    ca = x509.load_pem_x509_certificate((certs / "ca.pem").read_bytes())
    edge.verify_directly_issued_by(ca)
    usage = edge.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(usage) == [ExtendedKeyUsageOID.CLIENT_AUTH]
    assert (certs / "edge.key").stat().st_mode & 0o077 == 0

    assert "0 revoked" in skp("pki", "crl", "--dir", certs)
    assert "1 revoked" in skp("pki", "crl", "--dir", certs, "--revoke", certs / "edge.pem")
    crl = x509.load_pem_x509_crl((certs / "crl.pem").read_bytes())
    assert crl.is_signature_valid(ca.public_key())
    assert crl.get_revoked_certificate_by_serial_number(edge.serial_number) is not None
    assert "not a PEM certificate" in skp("pki", "crl", "--dir", certs,
                                          "--revoke", certs / "edge.key", expect=2)


def test_keys_init_and_rotate(skp, tmp_path):
    assert "created key-encryption key" in skp("keys", "init")
    assert "exists" in skp("keys", "init", expect=2)
    skp("migrate")
    out = skp("keys", "rotate")
    assert "re-wrapped 0 data keys" in out
    assert len(json.loads((tmp_path / "kek.json").read_text())["keys"]) == 2


def test_purge_once(migrated):
    assert "expired 0 messages" in migrated("purge")


def test_wsdl_export(migrated, tmp_path):
    out = migrated("wsdl", "export", "--out", tmp_path / "w")
    assert out.count("wrote") == 10
    assert (tmp_path / "w" / "waarborgfonds.wsdl").read_bytes().startswith(b"<?xml")


def test_health_needs_a_listening_server(migrated, tmp_path):
    pki.init_dev(tmp_path / "certs")
    out = migrated("health", expect=2, SKP_BIND_PORT="9",
                   SKP_TLS_CERT=str(tmp_path / "certs" / "server.pem"),
                   SKP_TLS_KEY=str(tmp_path / "certs" / "server.key"))
    assert "no skp hub answers on 127.0.0.1:9: Connection refused" in out


def test_serve_refuses_without_certificates(migrated, tmp_path):
    out = migrated("serve", expect=2, SKP_TLS_CERT=str(tmp_path / "none.pem"))
    assert "SKP_TLS_CERT" in out and "skp pki init-dev" in out


def test_production_refuses_the_development_conveniences(migrated, tmp_path):
    certs = tmp_path / "certs"
    migrated("pki", "init-dev", "--dir", certs)
    production = {"SKP_ENVIRONMENT": "production"}
    for args, what in ((["pki", "init-dev", "--dir", tmp_path / "other"], "pki init-dev"),
                       (["participants", "add-demo", "--certs", certs], "participants add-demo"),
                       (["certs", "issue-dev", CAST[0].id, "--certs", certs], "certs issue-dev")):
        out = migrated(*args, expect=2, **production)
        assert f"{what} is for development hubs only, and SKP_ENVIRONMENT is production" in out
    assert not (tmp_path / "other").exists()
    assert migrated("participants", "list", **production) == ""
    out = migrated("serve", expect=2, SKP_TEST_PARTNER="true", **production)
    assert "unset SKP_TEST_PARTNER" in out


def test_certs_add_refuses_what_can_never_authenticate(migrated, tmp_path):
    certs, other = tmp_path / "certs", tmp_path / "other"
    pki.init_dev(certs)
    pki.init_dev(other)
    participant = UUID.search(migrated("participants", "add", "--name", "SE",
                                       "--role", "SE")).group()
    long_ago = dt.datetime.now(dt.UTC) - dt.timedelta(days=400)
    refused = {
        certs / "ca.pem": "this is a CA certificate",
        pki._leaf(certs, "web", "Web", [ExtendedKeyUsageOID.SERVER_AUTH],
                  dt.datetime.now(dt.UTC)).cert: "not for client authentication",
        pki.issue_client(certs, "old", "Old", now=long_ago, days=365).cert: "expired on",
        pki.issue_client(other, "foreign", "Foreign").cert: "does not chain to a CA in "
                                                            "SKP_TLS_CLIENT_CA",
    }
    ca = {"SKP_TLS_CLIENT_CA": str(certs / "ca.pem")}
    for pem, message in refused.items():
        assert message in migrated("certs", "add", participant, pem, expect=2, **ca), pem
    assert migrated("certs", "list") == ""
    good = pki.issue_client(certs, "good", "Good").cert
    out = migrated("certs", "add", participant, good, **ca)
    assert "Warning" not in out
    soon = pki.issue_client(certs, "soon", "Soon", days=10).cert
    out = migrated("certs", "add", participant, soon, **ca)
    assert "Warning: this certificate expires on" in out and "in 9 days" in out
    assert len(migrated("certs", "list").splitlines()) == 2
    assert "cannot be read" in migrated("certs", "add", participant, good, expect=2,
                                        SKP_TLS_CLIENT_CA=str(tmp_path / "none.pem"))
