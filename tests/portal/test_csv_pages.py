"""The CSV pages through Flask's test client over the real app and database: who may open
them, the CSRF token on every form, the size limits per file and per request, the empty
templates, and the answer file of a download."""

from __future__ import annotations

import io

import pytest
from urllib3 import encode_multipart_formdata

from skp.csvexchange import MAX_FILE_BYTES, MAX_FILES
from skp.domain import csvlayout
from skp.domain.catalogue import lookup
from skp.domain.examples import example_body
from skp.domain.roles import Module
from skp.domain.validation import Header
from skp.portal.csv import UPLOAD_REQUEST_BYTES
from tests.portal.conftest import BASE, ENERGIE, NOORD, SHV, ZUID, employee, logged_in, token

SR = Module.SCHULDREGELING


@pytest.fixture
def bram(app, hub):
    return employee(app, hub, "energie-noord", ENERGIE, NOORD.id)


def csv_page(participant_id: str) -> str:
    return f"/eenheid/{participant_id}/csv/"


def test_only_the_units_employees_open_its_csv_page(app, hub, bram):
    assert bram.get(csv_page(NOORD.id), base_url=BASE).status_code == 200
    assert bram.get(csv_page(ZUID.id), base_url=BASE).status_code == 404
    chris = logged_in(app, "energie-zuid")
    for path in (csv_page(NOORD.id), f"{csv_page(NOORD.id)}sjabloon/schuldregeling/"
                 "SaldoverzoekAntwoord"):
        assert chris.get(path, base_url=BASE).status_code == 404
    answer = chris.post(f"{csv_page(NOORD.id)}upload", base_url=BASE,
                        data={"csrf_token": token(chris, "/")})
    assert answer.status_code == 404


def test_a_template_is_an_empty_file_with_the_types_header(bram):
    answer = bram.get(f"{csv_page(NOORD.id)}sjabloon/schuldregeling/SaldoverzoekAntwoord",
                      base_url=BASE)
    assert answer.status_code == 200
    assert answer.headers["Content-Disposition"].startswith("attachment;")
    assert answer.headers["Cache-Control"] == "no-store"
    assert answer.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert answer.data == csvlayout.write(
        csvlayout.template_columns(lookup(SR, "SaldoverzoekAntwoord")), [])
    page = bram.get(csv_page(NOORD.id), base_url=BASE).get_data(as_text=True)
    assert "sjabloon/schuldregeling/SaldoverzoekAntwoord" in page
    assert "sjabloon/schuldregeling/Saldoverzoek\"" not in page  # a creditor does not send it
    assert bram.get(f"{csv_page(NOORD.id)}sjabloon/schuldregeling/Bestaatniet",
                    base_url=BASE).status_code == 404


def test_an_upload_without_its_token_is_refused(bram):
    answer = bram.post(f"{csv_page(NOORD.id)}upload", base_url=BASE,
                       data={"bestanden": (io.BytesIO(b"x"), "a.csv")})
    assert answer.status_code == 400


def test_the_limits_are_per_file_and_per_request(bram):
    def post(files):
        """(status, page) of an upload of ``files``."""
        # The body encoded here, in memory: the test client would spool a large one to a
        # temporary file it never closes.
        body, content_type = encode_multipart_formdata(
            [("csrf_token", token(bram, csv_page(NOORD.id))),
             *(("bestanden", (name, data, "text/csv")) for name, data in files)])
        answer = bram.post(f"{csv_page(NOORD.id)}upload", base_url=BASE, data=body,
                           content_type=content_type)
        return answer.status_code, answer.get_data(as_text=True)

    # Two files of nearly 4 MB each: more than the portal's 4 MB, within the upload's limit.
    near = b"Module;Berichttype\r\n" + b";\r\n" * ((MAX_FILE_BYTES - 64) // 3)
    status, text = post([("a.csv", near), ("b.txt", near)])
    assert status == 422
    assert "Bestand b.txt: alleen bestanden met de extensie .csv" in text
    assert "Bestand a.csv, regel 2: het bestand heeft geen regels met berichten" in text
    assert '<h2 id="fouten-titel">Er is niets verstuurd: 2 fouten gevonden</h2>' in text
    assert "Zolang één bestand een fout heeft, wordt geen enkel bericht verstuurd." in text
    over = near + b";" * 200
    assert "groter dan 4 MB" in post([("c.csv", over)])[1]
    assert UPLOAD_REQUEST_BYTES > MAX_FILES * MAX_FILE_BYTES

    def announced(path: str, length: int) -> int:
        """The status of a POST announcing ``length`` bytes (refused before any is read)."""
        answer = bram.post(path, base_url=BASE, data=b"--x--\r\n",
                           content_type="multipart/form-data; boundary=x",
                           environ_overrides={"CONTENT_LENGTH": str(length)})
        answer.close()
        return answer.status_code

    assert announced(f"{csv_page(NOORD.id)}upload", UPLOAD_REQUEST_BYTES + 1) == 413
    assert announced(f"{csv_page(NOORD.id)}download", MAX_FILE_BYTES + 1) == 413


def test_a_download_offers_an_answer_file_per_reply_type(app, hub, bram):
    body = example_body(lookup(SR, "Saldoverzoek"))
    sent = hub.mailbox.send(SHV.id, SR, "Saldoverzoek",
                            Header("SV-1", NOORD.id, "00000000-0000-4000-8000-000000000001"),
                            body)
    answer = bram.post(f"{csv_page(NOORD.id)}download", base_url=BASE,
                       data={"csrf_token": token(bram, csv_page(NOORD.id)),
                             "module": "schuldregeling", "type": "Saldoverzoek"})
    assert answer.status_code == 302
    page = bram.get(csv_page(NOORD.id), base_url=BASE).get_data(as_text=True)
    assert "De download staat klaar" in page
    (download_id,) = {part.split("/")[0] for part in page.split("/csv/download/")[1:]}
    reply = bram.get(f"{csv_page(NOORD.id)}download/{download_id}/antwoord/"
                     "SaldoverzoekAntwoord", base_url=BASE)
    _, rows = csvlayout.read(reply.data)
    assert [r.cells["CrossReferentienummer"] for r in rows] == [sent.message_id]
    assert bram.get(f"{csv_page(NOORD.id)}download/{download_id}/antwoord/Kennisgeving",
                    base_url=BASE).status_code == 404


def test_a_download_links_to_each_message_whose_documents_are_not_in_its_file(app, hub, bram):
    # Confirming deletes the documents too: the page names the messages that carry some, so
    # that they are opened (and their documents downloaded) first.
    mt = lookup(SR, "Saldoverzoek")
    sent = [hub.mailbox.send(SHV.id, SR, "Saldoverzoek", Header(
                f"SV-{n}", NOORD.id, f"00000000-0000-4000-8000-00000000000{n}"), body)
            for n, body in enumerate((example_body(mt, full=True), example_body(mt)), 1)]
    assert "Toestemmingsverklaring" in example_body(mt, full=True)
    bram.post(f"{csv_page(NOORD.id)}download", base_url=BASE,
              data={"csrf_token": token(bram, csv_page(NOORD.id)),
                    "module": "schuldregeling", "type": "Saldoverzoek"})
    page = bram.get(csv_page(NOORD.id), base_url=BASE).get_data(as_text=True)
    assert "1 bericht heeft bijlagen" in page
    assert f"/eenheid/{NOORD.id}/berichten/{sent[0].message_id}" in page
    assert sent[1].message_id not in page
