"""`skp messages list/show` and `skp backlog`: the operator's view, metadata only."""

from __future__ import annotations

import datetime as dt
import functools

import pytest
from click.testing import CliRunner

from skp.cli import cli
from skp.clock import FrozenClock
from skp.config import Settings
from skp.domain.admission import Standing
from skp.domain.calendar import AMSTERDAM
from skp.domain.roles import ROLE_MODULES, Module, Role
from skp.hub import Hub
from tests.conftest import MONDAY
from tests.helpers import send

CANARY = "Kanarie Zwaluwstaart"
MODULE = Module.SCHULDREGELING


@pytest.fixture
def env(tmp_path):
    env = {"SKP_DATABASE_URL": f"sqlite:///{tmp_path / 'hub.sqlite3'}",
           "SKP_KEK_FILE": str(tmp_path / "kek.json")}
    assert CliRunner().invoke(cli, ["migrate"], env=env).exit_code == 0
    return env


@pytest.fixture
def traffic(env):
    hub = Hub.build(Settings.from_env(env), clock=FrozenClock(MONDAY))
    add = functools.partial(hub.participants.add, standing=Standing.ACTIVE)
    shv = add(name="Gemeente Voorbeeld", role=Role.SHV_FASE2,
              modules=ROLE_MODULES[Role.SHV_FASE2])
    se = add(name="Energie Noord", role=Role.SE, modules=ROLE_MODULES[Role.SE])
    se2 = add(name="Energie Zuid", role=Role.SE, modules=ROLE_MODULES[Role.SE])
    first = send(hub.mailbox, shv, se, MODULE, "Kennisgeving", text=CANARY)
    hub.clock.advance(dt.timedelta(hours=2))
    second = send(hub.mailbox, shv, se, MODULE, "Saldoverzoek", text=CANARY)
    hub.clock.advance(dt.timedelta(hours=1))
    third = send(hub.mailbox, shv, se2, MODULE, "Kennisgeving", text=CANARY)
    hub.mailbox.fetch(se2.id, third.message_id)
    hub.mailbox.confirm(se2.id, third.message_id)
    hub.engine.dispose()
    return shv, se, se2, (first.message_id, second.message_id, third.message_id)


def skp(env, *args, expect=0):
    result = CliRunner().invoke(cli, [str(a) for a in args], env=env)
    assert result.exit_code == expect, result.output
    assert CANARY not in result.output
    return result.output


def ids(output):
    return [line.split()[0] for line in output.splitlines()]


def test_messages_list_filters(env, traffic):
    shv, se, se2, (first, second, third) = traffic
    assert ids(skp(env, "messages", "list")) == [third, second, first]
    assert ids(skp(env, "messages", "list", "--participant", se.id)) == [second, first]
    assert ids(skp(env, "messages", "list", "--participant", shv.id, "--type",
                   "Kennisgeving")) == [third, first]
    assert ids(skp(env, "messages", "list", "--state", "confirmed")) == [third]
    assert ids(skp(env, "messages", "list", "--limit", "1")) == [third]
    local = MONDAY.astimezone(AMSTERDAM)
    later = (local + dt.timedelta(hours=1)).strftime("%Y-%m-%d %H:%M")
    assert ids(skp(env, "messages", "list", "--since", later)) == [third, second]
    assert ids(skp(env, "messages", "list", "--until", later)) == [first]
    assert skp(env, "messages", "list", "--since", f"{local:%Y-%m-%d}",
               "--until", f"{local:%Y-%m-%d}") == ""
    line = skp(env, "messages", "list", "--state", "confirmed")
    assert f"schuldregeling/Kennisgeving  confirmed  {shv.id} -> {se2.id}" in line
    assert "no participant nobody" in skp(env, "messages", "list", "--participant", "nobody",
                                          expect=2)


def test_messages_show(env, traffic):
    shv, _, se2, (_, _, third) = traffic
    out = skp(env, "messages", "show", third)
    assert f"sender:          {shv.id}" in out
    assert f"recipient:       {se2.id}" in out
    assert "state:           confirmed" in out
    received = MONDAY.astimezone(AMSTERDAM) + dt.timedelta(hours=3)
    assert f"received:        {received:%Y-%m-%d %H:%M}:00" in out
    assert "no message 00000000" in skp(env, "messages", "show",
                                        "00000000-0000-4000-8000-000000000000", expect=2)


def test_backlog_per_recipient_with_names(env, traffic):
    _, se, _, _ = traffic
    (line,) = skp(env, "backlog").splitlines()
    assert line.startswith(f"{se.id}       2 waiting since ")
    assert line.endswith("Energie Noord")
