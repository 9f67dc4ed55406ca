"""docs/privacy.md names every column of every table of the schema, and nothing else."""

from __future__ import annotations

import re
from pathlib import Path

from skp.store.models import Base

DOC = (Path(__file__).parents[2] / "docs" / "privacy.md").read_text()
#: Tables the migrations make that are not in the models.
OUTSIDE_MODELS = {"alembic_version": {"version_num"}}


def documented():
    """{table: {column: row}} from the doc's "### `table`" sections and their tables."""
    tables = {}
    for section in re.split(r"^### ", DOC, flags=re.MULTILINE)[1:]:
        name = re.match(r"`(\w+)`", section)
        assert name, f"a section of docs/privacy.md lacks a `table` heading: {section[:40]!r}"
        rows = re.findall(r"^\| `(\w+)` \| ([^|]+) \| ([^|]+) \|$", section, re.MULTILINE)
        tables[name.group(1)] = {column: (holds, who) for column, holds, who in rows}
    return tables


def schema():
    tables = {t.name: {c.name for c in t.columns} for t in Base.metadata.sorted_tables}
    return {**tables, **OUTSIDE_MODELS}


def test_every_column_of_every_table_is_described():
    doc, real = documented(), schema()
    missing = [f"table {table!r} (columns: {', '.join(sorted(columns))})"
               for table, columns in sorted(real.items()) if table not in doc]
    missing += [f"column {table}.{column}" for table, columns in sorted(real.items())
                if table in doc for column in sorted(columns - set(doc[table]))]
    assert not missing, ("docs/privacy.md must describe (a \"### `table`\" section with a row "
                         "| `column` | holds | who can read |): " + "; ".join(missing))


def test_the_doc_describes_nothing_the_schema_lacks():
    doc, real = documented(), schema()
    extra = [f"table {table!r}" for table in sorted(doc) if table not in real]
    extra += [f"column {table}.{column}" for table, columns in sorted(doc.items())
              if table in real for column in sorted(set(columns) - real[table])]
    assert not extra, "docs/privacy.md describes what the schema no longer has: " + "; ".join(
        extra)


def test_every_row_says_what_it_holds_and_who_can_read_it():
    for table, columns in documented().items():
        for column, (holds, who) in columns.items():
            assert holds.strip() and who.strip(), f"{table}.{column}"
            assert any(word in who for word in ("operator", "sealed")), f"{table}.{column}"
