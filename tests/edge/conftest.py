"""The edge's tests: nginx (deploy/nginx/) in front of the end-to-end hub (tests/e2e/)."""

from __future__ import annotations

import logging

import pytest

from tests.e2e.conftest import clock, hub, people, pki, server  # noqa: F401
from tests.edge.nginx import edge  # noqa: F401


@pytest.fixture
def hub_log(caplog):
    """hub_log() -> the participants of the requests the hub logged during the test."""
    caplog.set_level(logging.INFO, logger="skp.request")

    def participants():
        return {record.participant for record in caplog.records
                if record.name == "skp.request"}

    return participants
