"""The published participant list: the address book of every module as CSV, JSON or HTML,
for people (``skp participants export``, the hub's ``/deelnemers`` page).

The same public fields as ZoekDeelnemers (skp.domain.addressbook.PUBLIC_FIELDS), one record
per participant and module, under ``Adresboek`` (the module whose book it is in).
"""

from __future__ import annotations

import csv
import html
import io
import json
from collections.abc import Iterable, Iterator
from typing import Any

from skp.addressbook import AddressBook, Entry
from skp.domain.addressbook import PUBLIC_FIELDS
from skp.domain.roles import MODULE_INFO, Module

COLUMNS = ("Adresboek", *PUBLIC_FIELDS)


def records(book: AddressBook, modules: Iterable[Module] = Module) -> Iterator[dict[str, Any]]:
    """One record per participant per module's book, in module order and then by name."""
    for module in modules:
        for entry in book.every(module):
            yield _record(module, entry)


def _record(module: Module, entry: Entry) -> dict[str, Any]:
    return {"Adresboek": module.value, "DeelnemerId": entry.id, "Naam": entry.name,
            "KvkNummer": entry.kvk_nummer, "Vestigingsnummer": entry.vestigingsnummer,
            "Rol": entry.role.value, "Module": [m.value for m in entry.modules],
            "GebruiktBsn": entry.uses_bsn, "Berichttypen": list(entry.receives)}


def as_json(rows: Iterable[dict[str, Any]]) -> str:
    return json.dumps(list(rows), ensure_ascii=False, indent=2) + "\n"


def as_csv(rows: Iterable[dict[str, Any]]) -> str:
    """CSV as Dutch spreadsheets open it: semicolons; lists separated by spaces; ja/nee."""
    out = io.StringIO()
    writer = csv.DictWriter(out, COLUMNS, delimiter=";", lineterminator="\r\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({**row, "Module": " ".join(row["Module"]),
                         "Berichttypen": " ".join(row["Berichttypen"]),
                         "GebruiktBsn": "ja" if row["GebruiktBsn"] else "nee"})
    return out.getvalue()


def as_html(rows: Iterable[dict[str, Any]]) -> bytes:
    """A plain, self-contained HTML page: one table per module."""
    by_module: dict[str, list[dict[str, Any]]] = {m.value: [] for m in Module}
    for row in rows:
        by_module[row["Adresboek"]].append(row)
    e = html.escape
    parts = ['<!DOCTYPE html><html lang="nl"><head><meta charset="utf-8">',
             '<meta name="viewport" content="width=device-width, initial-scale=1">',
             "<title>Deelnemers van het Schuldenknooppunt</title>",
             "<style>body{font-family:sans-serif;margin:1rem auto;max-width:72rem;padding:0 1rem}"
             "table{border-collapse:collapse;width:100%;margin-bottom:2rem}"
             "th,td{border-bottom:1px solid #ccc;padding:.3rem .5rem;text-align:left;"
             "vertical-align:top}code{font-size:.9em}</style></head><body>",
             "<h1>Deelnemers van het Schuldenknooppunt</h1>"]
    for module, found in by_module.items():
        parts.append(f'<h2 id="{e(module)}">{e(MODULE_INFO[Module(module)].title)}</h2>')
        if not found:
            parts.append("<p>Geen deelnemers.</p>")
            continue
        parts.append("<table><thead><tr><th>Naam</th><th>Deelnemer-id</th><th>Rol</th>"
                     "<th>KvK</th><th>Vestiging</th><th>BSN</th><th>Ontvangt</th></tr>"
                     "</thead><tbody>")
        for row in found:
            parts.append(
                f"<tr><td>{e(row['Naam'])}</td><td><code>{e(row['DeelnemerId'])}</code></td>"
                f"<td>{e(row['Rol'])}</td><td>{e(row['KvkNummer'] or '')}</td>"
                f"<td>{e(row['Vestigingsnummer'] or '')}</td>"
                f"<td>{'ja' if row['GebruiktBsn'] else 'nee'}</td>"
                f"<td>{e(', '.join(row['Berichttypen']))}</td></tr>")
        parts.append("</tbody></table>")
    parts.append("</body></html>")
    return "".join(parts).encode()
