"""The edge's tests: nginx (deploy/nginx/) in front of the end-to-end hub (tests/e2e/)."""

from __future__ import annotations

from tests.e2e.conftest import clock, connect, hub, people, pki, server  # noqa: F401
from tests.edge.nginx import edge  # noqa: F401
