"""The published participant list: ``skp participants export`` as CSV and JSON."""

from __future__ import annotations

import csv
import io
import json

import pytest
from click.testing import CliRunner

from skp.cli import cli
from skp.demo import CAST
from skp.domain.addressbook import PUBLIC_FIELDS
from skp.published import COLUMNS


@pytest.fixture
def skp(tmp_path):
    env = {"SKP_DATABASE_URL": f"sqlite:///{tmp_path / 'hub.sqlite3'}",
           "SKP_KEK_FILE": str(tmp_path / "kek.json")}

    def run(*args, expect=0):
        result = CliRunner().invoke(cli, [str(a) for a in args], env=env)
        assert "Traceback" not in result.output
        assert result.exit_code == expect, result.output
        return result.output

    run("migrate")
    run("pki", "init-dev", "--dir", tmp_path / "certs")
    run("participants", "add-demo", "--certs", tmp_path / "certs")
    return run


def test_json_export_holds_the_public_fields_of_every_book(skp):
    rows = json.loads(skp("participants", "export", "--format", "json"))
    assert {tuple(row) for row in rows} == {COLUMNS}
    assert set(COLUMNS) == {"Adresboek", *PUBLIC_FIELDS}
    noord = next(d for d in CAST if d.slug == "energie-noord")
    books = {row["Adresboek"] for row in rows if row["DeelnemerId"] == noord.id}
    assert books == {"schuldregeling", "schuldinventarisatie", "betalingsregeling",
                     "meldingen-bewindvoering"}
    wsk = [row["Naam"] for row in rows if row["Adresboek"] == "waarborgfonds"]
    assert wsk == sorted(wsk) and "Waarborgfonds saneringskredieten" in wsk


def test_csv_export_of_one_module_opens_in_a_spreadsheet(skp, tmp_path):
    out = tmp_path / "book.csv"
    assert skp("participants", "export", "--module", "schuldregeling", "--out", out) == ""
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8")), delimiter=";"))
    assert {row["Adresboek"] for row in rows} == {"schuldregeling"}
    assert [row["Naam"] for row in rows] == [
        "Energie BV, unit Noord", "Energie BV, unit Zuid",
        "Gemeente Voorbeeld, schuldhulpverlening", "Kredietbank Voorbeeld"]
    noord = rows[0]
    assert noord["Rol"] == "SE" and noord["GebruiktBsn"] == "nee"
    assert "Kennisgeving" in noord["Berichttypen"].split()


def test_export_to_a_folder_that_does_not_exist_exits_2(skp, tmp_path):
    output = skp("participants", "export", "--out", tmp_path / "nope" / "book.csv", expect=2)
    assert "nope" in output
