"""A run's report: JUnit XML (a testsuite per routine, a testcase per step) for CI systems,
and a plain, accessible HTML page for people. Metadata and verdicts only."""

from __future__ import annotations

import datetime as dt

import jinja2
from lxml import etree

from skp.acceptance.views import RunView, StepView
from skp.domain.verdicts import Outcome


def _seconds(step: StepView) -> str:
    if step.started_at is None or step.finished_at is None:
        return "0"
    return f"{max((step.finished_at - step.started_at).total_seconds(), 0):.3f}"


def junit(run: RunView) -> bytes:
    """The run as JUnit XML: a failed step is a ``failure`` with its lines, an unjudged one
    ``skipped``."""
    suites = etree.Element("testsuites", name=f"acceptance {run.id}")
    for routine in run.routines:
        steps = [s for s in run.steps if s.routine is routine]
        suite = etree.SubElement(
            suites, "testsuite", name=routine.value, tests=str(len(steps)),
            failures=str(sum(s.outcome is Outcome.FAILED for s in steps)),
            skipped=str(sum(not s.outcome.final for s in steps)), errors="0",
            timestamp=run.started_at.strftime("%Y-%m-%dT%H:%M:%S"))
        for step in steps:
            case = etree.SubElement(suite, "testcase", classname=f"acceptance.{routine.value}",
                                    name=step.key, time=_seconds(step))
            if step.outcome is Outcome.FAILED:
                failure = etree.SubElement(case, "failure", message=step.lines[0]
                                           if step.lines else "failed", type="expectation")
                failure.text = "\n".join(step.lines)
            elif not step.outcome.final:
                etree.SubElement(case, "skipped", message=f"not judged yet ({step.outcome})")
            etree.SubElement(case, "system-out").text = step.expectation
    return bytes(etree.tostring(suites, xml_declaration=True, encoding="UTF-8",
                                pretty_print=True))


_PAGE = jinja2.Environment(autoescape=True).from_string("""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Acceptance run {{ run.id }}: {{ run.state }}</title>
<style>
body { font-family: system-ui, sans-serif; max-width: 60rem; margin: 1rem auto; padding: 0 1rem;
       line-height: 1.5; color: #1a1a1a; }
table { border-collapse: collapse; width: 100%; }
th, td { border: 1px solid #767676; padding: .4rem; text-align: left; vertical-align: top; }
.passed { color: #0b6b2b; } .failed { color: #a4000f; }
</style>
</head>
<body>
<main>
<h1>Acceptance run: {{ run.state }}</h1>
<dl>
<dt>Participant</dt><dd>{{ run.participant_name }} ({{ run.participant_id }})</dd>
<dt>Run</dt><dd>{{ run.id }}</dd>
<dt>Started</dt><dd>{{ run.started_at.strftime("%Y-%m-%d %H:%M:%S UTC") }}</dd>
<dt>Finished</dt><dd>{{ run.finished_at.strftime("%Y-%m-%d %H:%M:%S UTC")
                          if run.finished_at else "not yet" }}</dd>
</dl>
{% for routine in run.routines %}
<section aria-labelledby="routine-{{ routine.value }}">
{% set outcome = run.routine_outcome(routine) %}
<h2 id="routine-{{ routine.value }}">Routine {{ routine.value }}:
  <span class="{{ outcome.value }}">{{ outcome }}</span></h2>
<table>
<caption>Steps of the routine {{ routine.value }}</caption>
<thead><tr><th scope="col">Step</th><th scope="col">Expected</th>
<th scope="col">Outcome</th><th scope="col">Seen</th></tr></thead>
<tbody>
{% for step in run.steps if step.routine == routine %}
<tr><th scope="row">{{ step.key }}</th><td>{{ step.expectation }}</td>
<td class="{{ step.outcome.value }}">{{ step.outcome }}</td>
<td>{% if step.lines %}<ul>{% for line in step.lines %}<li>{{ line }}</li>{% endfor %}</ul>
{% else %}-{% endif %}</td></tr>
{% endfor %}
</tbody>
</table>
</section>
{% endfor %}
<p>Generated {{ now.strftime("%Y-%m-%d %H:%M:%S UTC") }}.</p>
</main>
</body>
</html>
""")


def html(run: RunView, now: dt.datetime) -> bytes:
    """The run as an HTML page."""
    return _PAGE.render(run=run, now=now).encode("utf-8")
