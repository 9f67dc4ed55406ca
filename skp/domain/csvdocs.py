"""docs/csv.md, generated from the catalogue and the CSV layout (`skp csv layout --markdown`;
a test checks the file equals this text, so the two cannot drift apart)."""

from __future__ import annotations

from skp.domain import csvlayout
from skp.domain.catalogue import CATALOGUE, MessageType, attaches
from skp.domain.fields import Field, Kind
from skp.domain.roles import MODULE_INFO

_KINDS = {
    Kind.TEXT: "tekst", Kind.CODE: "code", Kind.DATE: "datum (dd-mm-jjjj)",
    Kind.AMOUNT: "bedrag (1234,50)", Kind.PERCENTAGE: "percentage (12,5)",
    Kind.INTEGER: "geheel getal", Kind.BOOLEAN: "ja/nee",
}

INTRO = f"""# CSV files of the portal

Organisations without a system link can handle their messages in the portal with CSV files, on
the page *CSV-bestanden* of a business unit (`/eenheid/<participant-id>/csv`): download all
waiting messages of one type, fill in the answers in a spreadsheet, and upload them again.
This page is generated from the message catalogue (`skp csv layout --markdown`); a test
checks that it is up to date. An empty template of each type is on the CSV page, and
`skp csv template MODULE TYPE` writes one.

## The file

- UTF-8 with a byte order mark, cells separated by `;`, lines ended by CRLF, quoting as
  Python's `csv` module does it (a cell with `;`, `"` or a line break between `"…"`). Excel
  with Dutch settings opens it as it is. An upload may also be saved by Excel as
  *CSV (gescheiden door lijstscheidingsteken)*, which is Windows-1252.
- The first line holds the column names below; their order does not matter on upload, and
  empty columns may be left out. Every following non-empty line is one message.
- **Amounts and percentages** are written with a decimal comma and no thousands separator:
  `1234,50`. An upload also takes `1.234,50`, `1234.50` and `€ 1234,50`; a point between
  groups of three digits is a thousands separator (`1.234` is 1234), as in the portal's
  forms; at most two decimals.
- **Dates** are written `dd-mm-jjjj` (`15-01-2026`), which Excel with Dutch settings reads as a
  date and writes back the same way. An upload also takes ISO dates (`2026-01-15`) and
  `d-m-jjjj`.
- **Yes/no** is `ja` or `nee` (an upload also takes `waar`/`onwaar`, `true`/`false`, `1`/`0`).
- **Codes** are written as in the SOAP interface (`NIET_GEMATCHT`).
- **Formulas**: a cell whose text starts with `=`, `+`, `-`, `@`, a tab, a carriage return or
  `'` is written with a `'` in front, so a spreadsheet shows it as text and never runs it.
  An upload takes one leading `'` off every cell, so such a value comes back as it was.
- Format columns with numbers that are no amounts (BSN, postcode, invoice numbers) as *text*
  in the spreadsheet, or it drops their leading zeros.

## Columns

- `Module` and `Berichttype` say what a row is (e.g. `schuldregeling` and
  `SaldoverzoekAntwoord`); all rows of a file have the same type.
- Each field of the message is a column named by its path: `Klant.Achternaam`; a group inside
  a group adds a step: `OngematchteSchulden.Totaalvordering.Bedrag`. A group is sent when one
  of its columns is filled; of a choice (*keuze*) fill the columns of exactly one option.
- A **repeated** field or group (marked *herhaald*) has numbered slots: `Vorderingen.1.Bedrag`,
  `Vorderingen.2.Bedrag`, … A template has {csvlayout.SLOTS} slots; add columns with higher
  numbers for more. Empty slots are skipped, so the slots that are filled become the list in
  their order. A download has as many slots as its longest message needs.
- **Documents** (attachments) are not part of the CSV files. A download of a type that may
  carry them has the column `{csvlayout.DOCUMENTS_COLUMN}`: how many the message has.
  Open such a message in the portal to download them (the CSV page links to each)
  **before** you confirm the download: confirming deletes them too. A type that always
  needs a document cannot be sent with CSV.
- Fields the hub sets itself (`AutomatischAangevuld`, the zero-amount lines of a non-matched
  Saldoverzoek antwoord) appear in downloads only.

Routing columns of an **upload** (a message your unit sends):

- `Kenmerk`: your own id of the message (1 to 64 characters, no spaces). Optional: when
  empty, the hub derives one from your unit, the file's SHA-256 and the line number, so
  uploading the same file again sends nothing twice. Fill it yourself to be safe against
  duplicates when you change a file between uploads.
- `Ontvanger`: the participant id of the recipient (new messages; see the address book). For
  an answer it may stay empty: it is then the sender of the message answered.
- `ConversatieReferentienummer`: the conversation (a UUID). For an answer it may stay empty
  (the conversation of the message answered); for a new message, empty starts a new one.
- `CrossReferentienummer`: answers only: the `BerichtId` of the message answered, as in the
  download.

Routing columns of a **download** (messages your unit received): `BerichtId` (the hub's id:
put it in `CrossReferentienummer` to answer), `Afzender` (participant id),
`ConversatieReferentienummer`, `CrossReferentienummer` (the message it answers, if any),
`OntvangenOp` and `UiterlijkOphalenOp` (Amsterdam time, `dd-mm-jjjj uu:mm`), and for a type
that may carry documents `{csvlayout.DOCUMENTS_COLUMN}` (their number). After a download the
CSV page also offers, per answer type, an *antwoordbestand*: one row per downloaded message
with its `CrossReferentienummer` filled in and the answer's columns empty.

## Download, confirm, upload

- A download takes every message of the type waiting at that moment. Its file can be
  downloaded again until you confirm the download or the messages' deadline passes.
  **Confirming** confirms exactly the messages of that download (as SOAP's
  `BevestigOntvangst`): the hub then deletes their content, documents included. Download,
  confirmation and upload are written to the audit trail (who, when, which download, how
  many), never the content.
- An upload takes up to 5 files of at most 4 MB each, only `.csv`. All files are checked
  completely first; every error is listed with file, line, column and what is wrong, never
  the cell's content: every error of a line at once, a cell that cannot be read as well as
  each field the message's rules find missing or wrong. If there is any error, **nothing** is
  sent. Otherwise all messages are
  sent in one database transaction: all or none. A Saldoverzoek antwoord *niet gematcht*
  gets its zero-amount lines from the hub, as over SOAP.
"""


def markdown() -> str:
    """The text of docs/csv.md."""
    parts = [INTRO, "\n## Layout per message type\n"]
    for module, types in CATALOGUE.items():
        parts.append(f"\n### {MODULE_INFO[module].title} (`{module.value}`)\n")
        for mt in types.values():
            parts.append(_type(mt))
    return "".join(parts)


def _type(mt: MessageType) -> str:
    senders = ", ".join(sorted(r.value for r in mt.senders))
    recipients = ", ".join(sorted(r.value for r in mt.recipients))
    upload = ("upload: yes" if csvlayout.sendable(mt)
              else "upload: no (it needs a document)")
    routing = ", ".join(f"`{c}`" for c in csvlayout.sent_routing(mt))
    documents = (f"; a download also has `{csvlayout.DOCUMENTS_COLUMN}`" if attaches(mt)
                 else "")
    lines = [f"\n#### {mt.title} (`{mt.code}`)\n\n",
             f"Sent by {senders}, received by {recipients}; {upload}. "
             f"Routing columns of an upload: {routing}{documents}.\n\n",
             "| column | kind | required |\n|---|---|---|\n"]
    lines += [f"| `{name}` | {kind} | {required} |\n"
              for name, kind, required in _rows(mt.fields, "", True)]
    return "".join(lines)


def _rows(fields: tuple[Field, ...], prefix: str, parents_required: bool
          ) -> list[tuple[str, str, str]]:
    rows: list[tuple[str, str, str]] = []
    for f in fields:
        if f.kind is Kind.DOCUMENT:
            continue
        name = f"{prefix}{f.name}.N" if f.repeated else f"{prefix}{f.name}"
        required = ("hub only (download)" if f.hub_only
                    else "yes" if f.required and parents_required
                    else "yes, in a filled group" if f.required else "no")
        if f.kind in (Kind.GROUP, Kind.CHOICE):
            note = "choice of one" if f.kind is Kind.CHOICE else "group"
            rows.append((f"{name}.…", f"{note}{', herhaald' if f.repeated else ''}",
                         "yes" if f.required and parents_required else "no"))
            rows += _rows(f.children, f"{name}.",
                          parents_required and f.required and not f.repeated
                          and f.kind is not Kind.CHOICE)
            continue
        kind = _KINDS[f.kind]
        if f.kind is Kind.CODE:
            kind = "code: " + ", ".join(f"`{c}`" for c in f.choices)
        if f.repeated:
            kind += ", herhaald"
        rows.append((name, kind, required))
    return rows
