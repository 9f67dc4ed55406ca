"""`skp csv`: the layout as Markdown (docs/csv.md) and an empty template per type."""

from __future__ import annotations

from click.testing import CliRunner

from skp.cli import cli
from skp.domain import csvdocs, csvlayout
from skp.domain.catalogue import lookup
from skp.domain.roles import Module


def test_layout_prints_docs_csv_md():
    result = CliRunner().invoke(cli, ["csv", "layout", "--markdown"])
    assert result.exit_code == 0
    assert result.output == csvdocs.markdown()


def test_template_writes_the_types_empty_file():
    result = CliRunner().invoke(cli, ["csv", "template", "schuldregeling",
                                      "SaldoverzoekAntwoord"])
    assert result.exit_code == 0
    assert result.stdout_bytes == csvlayout.write(csvlayout.template_columns(
        lookup(Module.SCHULDREGELING, "SaldoverzoekAntwoord")), [])


def test_an_unknown_type_or_one_that_needs_a_document_is_one_line_and_exit_2():
    for args, reason in ((["schuldregeling", "Bestaatniet"], "has no message type"),
                         (["meldingen-bewindvoering", "MeldingStartBewind"], "needs a document")):
        result = CliRunner().invoke(cli, ["csv", "template", *args])
        assert result.exit_code == 2
        assert reason in result.output and "Traceback" not in result.output
        assert len(result.output.strip().splitlines()) == 1
