"""CSV down- and upload over the mailbox, on SQLite and PostgreSQL: a download is recorded,
re-downloadable and confirmed exactly its messages; an upload is checked whole, its errors named
by file, line and column, and sent all or none, once."""

from __future__ import annotations

import datetime as dt

import pytest

from skp.csvexchange import MAX_FILE_BYTES, MAX_FILES, CsvExchange
from skp.csvexchange.downloads import forget
from skp.domain import csvlayout
from skp.domain.catalogue import lookup
from skp.domain.examples import example_body
from skp.domain.lifecycle import State
from skp.domain.organisation import Login
from skp.domain.roles import Module
from skp.domain.validation import Header
from skp.errors import InvalidState, NotFound
from skp.organisations import Organisations
from tests.functional.test_documents import BIG, MB, melding, segments

SR = Module.SCHULDREGELING


@pytest.fixture
def exchange(sessions, mailbox, clock):
    return CsvExchange(sessions, mailbox, clock)


@pytest.fixture
def employee(sessions, participants, clock):
    return Organisations(sessions, participants, clock).sign_in(
        Login("90000002", "pseudo-bram", None, False))


@pytest.fixture
def requests(mailbox, people, clock):
    """Two Saldoverzoeken from the SHV to creditor se, each listing two invoices."""
    ids = []
    for n in (1, 2):
        clock.advance(dt.timedelta(seconds=1))
        body = example_body(lookup(SR, "Saldoverzoek"))
        body["Vorderingen"] = [{"FactuurnummerSEVolgensSHV": f"F-{n}-{i}"} for i in (1, 2)]
        body["Klant"] = {**body["Klant"], "Achternaam": f"Klant{n}"}
        ids.append(mailbox.send(people.shv.id, SR, "Saldoverzoek",
                                Header(f"SV-{n}", people.se.id, f"0000000{n}-0000-4000-8000-"
                                       "000000000000"), body).message_id)
    return ids


def answers(exchange, unit, download_id, *, bad_line: bool = False) -> bytes:
    """The answer file of the download, filled in: not matched, one total each."""
    header, rows = csvlayout.read(
        exchange.answer_file(unit, download_id, "SaldoverzoekAntwoord").content)
    filled = []
    for n, row in enumerate(rows, 1):
        cells = {**row.cells, "Datum": "15-01-2026", "Matching": "NIET_GEMATCHT",
                 "OngematchteSchulden.Totaalvordering.Referentie": f"TOTAAL-{n}",
                 "OngematchteSchulden.Totaalvordering.Bedrag": f"{n}00,50"}
        if bad_line and n == 2:
            cells["OngematchteSchulden.Totaalvordering.Bedrag"] = "honderd"
            cells["Datum"] = ""
        filled.append(cells)
    return csvlayout.write(header, filled)


def test_a_download_is_recorded_fetched_again_and_confirmed(exchange, mailbox, people,
                                                            employee, requests, sessions):
    (waiting,) = exchange.waiting(people.se)
    assert (waiting.type_code, waiting.count) == ("Saldoverzoek", 2)
    download_id = exchange.download(people.se, employee.id, SR, "Saldoverzoek")
    assert exchange.download(people.se2, employee.id, SR, "Saldoverzoek") is None

    file = exchange.file(people.se, employee.id, download_id)
    assert file.content.startswith(b"\xef\xbb\xbfModule;Berichttype;BerichtId;")
    _, rows = csvlayout.read(file.content)
    assert [r.cells["BerichtId"] for r in rows] == requests
    assert [r.cells["Klant.Achternaam"] for r in rows] == ["Klant1", "Klant2"]
    assert rows[0].cells["Vorderingen.2.FactuurnummerSEVolgensSHV"] == "F-1-2"
    assert rows[0].cells["Afzender"] == people.shv.id
    assert [r.cells["Bijlagen"] for r in rows] == ["0", "0"]  # a Saldoverzoek may carry them
    assert all(mailbox.message(i).state is State.FETCHED for i in requests)
    assert exchange.file(people.se, employee.id, download_id).content == file.content

    (open_download,) = exchange.open_downloads(people.se)
    assert (open_download.messages, open_download.with_documents) == (2, ())
    assert {r.code for r in open_download.replies} == {"SaldoverzoekAntwoord",
                                                       "SaldoverzoekAntwoordVoorafAkkoord",
                                                       "GeenMedewerking"}
    with pytest.raises(NotFound):  # another unit's employee, even of the same organisation
        exchange.file(people.se2, employee.id, download_id)
    with pytest.raises(NotFound):
        exchange.confirm(people.se2, employee.id, download_id)

    assert exchange.confirm(people.se, employee.id, download_id) == 2
    assert all(mailbox.message(i).state is State.CONFIRMED for i in requests)
    assert exchange.open_downloads(people.se) == []
    with pytest.raises(InvalidState):
        exchange.file(people.se, employee.id, download_id)
    trail = Organisations(sessions, None, None).audit_trail()  # type: ignore[arg-type]
    actions = [(actor, action) for _, actor, action, _ in reversed(trail) if action != "login"]
    assert actions == [(f"employee:{employee.id}", a)
                       for a in ("csv.download", "csv.file", "csv.file", "csv.confirm")]


def test_a_download_of_messages_with_documents_leaves_the_documents_out(
        exchange, mailbox, people, employee, sessions, clock):
    meldingen = []
    for _ in range(3):
        clock.advance(dt.timedelta(seconds=1))  # the file lists them oldest first
        meldingen.append(melding(mailbox, people))
    mailbox.fetch(people.se.id, meldingen[0])  # one opened in the portal before
    download_id = exchange.download(people.se, employee.id, MB, "MeldingStartBewind")
    _, rows = csvlayout.read(exchange.file(people.se, employee.id, download_id).content)
    assert [r.cells["BerichtId"] for r in rows] == meldingen
    assert not any("Beschikking" in column for column in rows[0].cells)
    assert [r.cells["Bijlagen"] for r in rows] == ["1", "1", "1"]  # how many, to open them
    (open_download,) = exchange.open_downloads(people.se)
    assert open_download.with_documents == tuple(meldingen)  # for the page to link to each
    assert all(segments(sessions, m) for m in meldingen)  # still stored, until confirmed
    assert mailbox.fetch(people.se.id, meldingen[1]).body["Beschikking"].read() == BIG
    assert exchange.confirm(people.se, employee.id, download_id) == 3
    assert [segments(sessions, m) for m in meldingen] == [[], [], []]


def test_an_upload_with_a_bad_line_sends_nothing_and_names_the_cells(
        exchange, mailbox, people, employee, requests, sessions):
    download_id = exchange.download(people.se, employee.id, SR, "Saldoverzoek")
    bad = answers(exchange, people.se, download_id, bad_line=True)
    header = csvlayout.read(bad)[0]
    result = exchange.upload(people.se, [("antwoorden.csv", bad)])
    assert result.receipts == []
    # Both problems of the line at once: the amount that is no number (a cell error, and not
    # again as a missing amount) and the missing date (the validator's).
    assert [(p.file, p.line, p.column) for p in result.problems] == [
        ("antwoorden.csv", 3, "Datum"),
        ("antwoorden.csv", 3, "OngematchteSchulden.Totaalvordering.Bedrag")]
    date, amount = result.problems
    assert date.text == "is verplicht"
    for problem in result.problems:
        assert problem.letter == csvlayout.excel_column(header.index(problem.column))
    assert "honderd" not in amount.text and "getal" in amount.text
    assert mailbox.list_pending(people.shv.id, SR).items == []

    # With the amount right, the missing date remains: still nothing sent.
    fixed_amount = bad.replace(b"honderd", b"200,50")
    result = exchange.upload(people.se, [("antwoorden.csv", fixed_amount)])
    assert [(p.line, p.column, p.text) for p in result.problems] == [
        (3, "Datum", "is verplicht")]
    assert mailbox.list_pending(people.shv.id, SR).items == []

    good = answers(exchange, people.se, download_id)
    result = exchange.upload(people.se, [("antwoorden.csv", good)], employee.id)
    assert result.problems == [] and len(result.receipts) == 2 and result.repeated == 0
    trail = Organisations(sessions, None, None).audit_trail()  # type: ignore[arg-type]
    assert (f"employee:{employee.id}", "csv.upload", f"{people.se.id} 2 0") in [
        (actor, action, subject) for _, actor, action, subject in trail]
    again = exchange.upload(people.se, [("antwoorden.csv", good)])
    assert again.problems == [] and again.repeated == 2  # the same file sends nothing twice
    page = mailbox.list_pending(people.shv.id, SR, type_code="SaldoverzoekAntwoord")
    assert len(page.items) == 2
    assert sorted(m.cross_reference_id for m in page.items) == sorted(requests)
    body = mailbox.fetch(people.shv.id, page.items[0].id).body
    zero = [line for line in body["Vorderingen"] if line.get("AutomatischAangevuld")]
    assert len(zero) == 2  # the hub's zero-amount lines, as over SOAP


def kennisgevingen(people, count: int, *, recipient: str | None = None,
                   wrong_line: int | None = None) -> bytes:
    mt = lookup(SR, "Kennisgeving")
    rows = []
    for n in range(count):
        cells = {"Module": "schuldregeling", "Berichttype": "Kennisgeving",
                 "Ontvanger": recipient or people.se.id,
                 **csvlayout.flatten(mt, example_body(mt))}
        if wrong_line == n:
            cells["Ontvanger"] = "00000000-0000-4000-8000-000000000000"
        rows.append(cells)
    return csvlayout.write(csvlayout.template_columns(mt), rows)


def test_a_refusal_of_any_message_sends_none(exchange, mailbox, people):
    files = [("een.csv", kennisgevingen(people, 2)),
             ("twee.csv", kennisgevingen(people, 3, wrong_line=2))]
    result = exchange.upload(people.shv, files)
    assert [(p.file, p.line, p.column) for p in result.problems] == [
        ("twee.csv", 4, "Ontvanger")]
    assert mailbox.list_pending(people.se.id, SR).items == []
    assert len(exchange.upload(people.shv, files[:1]).receipts) == 2


def test_a_crash_at_the_nth_insert_sends_nothing(exchange, mailbox, people, monkeypatch):
    from skp.mailbox import sending

    calls = []
    write = sending.segments.write

    def failing(session, message_id, spool):
        calls.append(message_id)
        if len(calls) == 3:
            raise RuntimeError("the process died here")
        write(session, message_id, spool)

    monkeypatch.setattr(sending.segments, "write", failing)
    with pytest.raises(RuntimeError):
        exchange.upload(people.shv, [("vijf.csv", kennisgevingen(people, 5))])
    assert len(calls) == 3
    assert mailbox.list_pending(people.se.id, SR).items == []
    monkeypatch.setattr(sending.segments, "write", write)
    assert len(exchange.upload(people.shv, [("vijf.csv", kennisgevingen(people, 5))]).receipts
               ) == 5
    assert len(mailbox.list_pending(people.se.id, SR).items) == 5


def test_send_many_checks_everything_and_a_dry_run_stores_nothing(mailbox, people):
    from skp.errors import BatchRefused
    from skp.mailbox import Outgoing

    mt = lookup(SR, "Kennisgeving")
    good = Outgoing(SR, "Kennisgeving", Header("K-1", people.se.id,
                                               "00000000-0000-4000-8000-00000000000a"),
                    example_body(mt))
    bad = Outgoing(SR, "Kennisgeving", Header("K 2", people.se.id, "x"), {})
    with pytest.raises(BatchRefused) as refused:
        mailbox.send_many(people.shv.id, [bad, good, bad])
    assert [i for i, _ in refused.value.failures] == [0, 2]
    assert mailbox.send_many(people.shv.id, [good], dry_run=True)
    assert mailbox.list_pending(people.se.id, SR).items == []
    (receipt,) = mailbox.send_many(people.shv.id, [good])
    assert not receipt.repeated
    assert mailbox.send(people.shv.id, SR, "Kennisgeving", good.header, good.body).repeated


def test_a_batch_repeats_a_kenmerk_it_used_and_refuses_it_for_another_recipient(
        mailbox, people):
    from skp.errors import BatchRefused, KenmerkConflict
    from skp.mailbox import Outgoing

    mt = lookup(SR, "Kennisgeving")

    def kennisgeving(kenmerk: str, recipient: str) -> Outgoing:
        return Outgoing(SR, "Kennisgeving", Header(kenmerk, recipient,
                                                   "00000000-0000-4000-8000-00000000000b"),
                        example_body(mt))

    # The recipient's id in capitals is the same participant; the Kenmerk again, a repeat.
    first, again = mailbox.send_many(people.shv.id, [
        kennisgeving("K-1", people.se.id.upper()), kennisgeving("K-1", people.se.id)])
    assert not first.repeated and again.repeated and again.message_id == first.message_id
    with pytest.raises(BatchRefused) as refused:
        mailbox.send_many(people.shv.id, [kennisgeving("K-2", people.se.id),
                                          kennisgeving("K-2", people.se2.id)])
    ((index, error),) = refused.value.failures
    assert index == 1 and isinstance(error, KenmerkConflict)
    assert [m.id for m in mailbox.list_pending(people.se.id, SR).items] == [first.message_id]
    (repeat,) = mailbox.send_many(people.shv.id, [kennisgeving("K-1", people.se.id)])
    assert repeat.repeated and repeat.message_id == first.message_id  # from the database


def test_only_csv_files_of_at_most_4_mb_and_a_few_at_once(exchange, people):
    small = kennisgevingen(people, 1)
    texts = [p.text for p in exchange.upload(people.shv, [("a.xlsx", small)]).problems]
    assert texts == ["alleen bestanden met de extensie .csv kunnen worden verstuurd"]
    big = small + b"\r\n" * MAX_FILE_BYTES
    assert "4 MB" in exchange.upload(people.shv, [("a.csv", big)]).problems[0].text
    many = exchange.upload(people.shv, [(f"{n}.csv", small) for n in range(MAX_FILES + 1)])
    assert any("hoogstens" in p.text for p in many.problems) and not many.receipts
    assert exchange.upload(people.shv, []).problems


def test_a_unit_may_upload_only_types_it_sends(exchange, people):
    result = exchange.upload(people.se, [("k.csv", kennisgevingen(people, 1))])
    assert [(p.line, p.column) for p in result.problems] == [(2, "Berichttype")]


def test_a_download_past_its_deadline_is_gone_and_the_purge_takes_its_links(
        exchange, mailbox, people, employee, requests, clock, settings, sessions):
    from sqlalchemy import func, select

    from skp.store.downloads import CsvDownloadMessage

    download_id = exchange.download(people.se, employee.id, SR, "Saldoverzoek")
    deadline = max(mailbox.message(i).deadline for i in requests)
    clock.set(deadline)
    assert exchange.open_downloads(people.se) == []
    with pytest.raises(InvalidState):
        exchange.file(people.se, employee.id, download_id)
    assert mailbox.purge(deadline).expired == 2
    later = deadline + settings.metadata_retention + dt.timedelta(days=1)
    assert mailbox.purge(later).metadata == 2
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(CsvDownloadMessage)) == 0
    assert forget(sessions, later - dt.timedelta(days=2), settings.metadata_retention) == 0
    assert forget(sessions, later, settings.metadata_retention) == 1
    assert exchange.open_downloads(people.se) == []


# SQLite takes one writer at a time: no concurrent send can come between.
@pytest.mark.parametrize("engine", [pytest.param("postgres", marks=pytest.mark.postgres)],
                         indirect=True)
def test_a_batch_that_loses_a_race_for_a_kenmerk_is_sent_once_more(
        exchange, mailbox, people, monkeypatch):
    from skp.mailbox import sending

    data = kennisgevingen(people, 2)
    checked, raced = sending._checked, []

    def racing(mt, header, body, *args, **kwargs):
        if not raced:  # another upload of the same file commits this message first
            raced.append(None)
            raced.append(mailbox.send(people.shv.id, mt.module, mt.code, header, body))
        return checked(mt, header, body, *args, **kwargs)

    monkeypatch.setattr(sending, "_checked", racing)
    result = exchange.upload(people.shv, [("k.csv", data)])
    assert result.problems == [] and result.repeated == 1
    assert result.receipts[0].message_id == raced[1].message_id
    assert len(mailbox.list_pending(people.se.id, SR).items) == 2


def test_a_download_whose_messages_were_confirmed_otherwise_is_no_longer_offered(
        exchange, mailbox, people, employee, requests):
    first = exchange.download(people.se, employee.id, SR, "Saldoverzoek")
    second = exchange.download(people.se, employee.id, SR, "Saldoverzoek")
    assert {d.id for d in exchange.open_downloads(people.se)} == {first, second}
    with pytest.raises(InvalidState, match="download eerst het bestand"):
        exchange.confirm(people.se, employee.id, first)  # nothing fetched: nothing confirmed
    mailbox.fetch(people.se.id, requests[0])
    mailbox.confirm(people.se.id, requests[0])  # e.g. over SOAP
    assert {d.messages for d in exchange.open_downloads(people.se)} == {1}
    exchange.file(people.se, employee.id, first)
    assert exchange.confirm(people.se, employee.id, first) == 1
    assert exchange.open_downloads(people.se) == []
