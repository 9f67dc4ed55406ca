"""Rate limits per client certificate: a flood from one participant is refused by nginx with
429, while another participant, from the same address, is still served.

A module of its own: its edge (module-scoped) starts with empty limit zones, and the flooded
certificate's allowance refills in about two seconds (25 requests/s, burst 50).
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from tests.e2e.conftest import session_for
from tests.helpers import PING

HEADERS = {"Content-Type": "text/xml; charset=utf-8", "SOAPAction": '"Ping"'}
#: At most this many requests in the flood; it stops at the first 429.
MOST = 600
THREADS = 16


def test_a_flood_from_one_certificate_is_refused_while_another_is_served(edge, people, pki):
    refused = threading.Event()
    statuses: list[int] = []

    def flood() -> None:
        session = session_for(pki.people["shv"], pki.ca_file)
        for _ in range(MOST // THREADS):
            if refused.is_set():
                return
            status = session.get(f"{edge.url}/healthz", timeout=30).status_code
            statuses.append(status)
            if status == 429:
                refused.set()

    with ThreadPoolExecutor(THREADS) as pool:
        for future in [pool.submit(flood) for _ in range(THREADS)]:
            future.result()

    assert refused.is_set(), f"no 429 in {len(statuses)} requests"
    assert set(statuses) == {200, 429}
    assert statuses.count(200) >= 50  # the burst was served
    assert "limiting requests" in edge.error_log()
    assert 'zone "skp_per_certificate"' in edge.error_log()
    assert 'zone "skp_per_address"' not in edge.error_log()

    other = session_for(pki.people["se"], pki.ca_file).post(
        f"{edge.url}/schuldregeling", data=PING, headers=HEADERS, timeout=30)
    assert other.status_code == 200
    assert people.se.id in other.text
