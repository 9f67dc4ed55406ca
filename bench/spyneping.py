"""A bare spyne application with one ``Ping`` on the hub's own server and TLS: what spyne,
cheroot and TLS cost per Ping without skp's work (identity lookup, limits, request log).

Run by bench/run.py as a server process (``python bench/spyneping.py``) with the same
``SKP_*`` environment as `skp serve`: it serves ``POST /schuldregeling`` through
skp.server.listener (the front door, paced I/O, mutual TLS of skp.tls) on ``--port`` (0: any
free port), on one CPU as `skp serve` is (``SKP_PIN_CPUS``; skp.server.affinity), and
prints ``listening on <address>`` once it listens; SIGTERM stops it.
``--smoke`` instead serves, answers one Ping in this process and stops.
"""

from __future__ import annotations

import argparse
import signal
import threading
from typing import Any

from harness import out
from spyne import Application, ServiceBase, Unicode, rpc
from spyne.protocol.soap import Soap11
from spyne.server.wsgi import WsgiApplication

from skp.config import Settings
from skp.server import affinity
from skp.server.listener import Server, make_server

NAMESPACE = "urn:skp:schuldregeling:2.0"


class Schuldregeling(ServiceBase):  # type: ignore[misc]  # spyne has no type information
    @rpc(Unicode, _returns=Unicode)  # type: ignore[untyped-decorator]
    def Ping(ctx: Any, Tekst: str) -> str:
        return Tekst


def application() -> WsgiApplication:
    """The bare Ping as a WSGI application at any path."""
    app = Application([Schuldregeling], tns=NAMESPACE, in_protocol=Soap11(validator="lxml"),
                      out_protocol=Soap11())
    return WsgiApplication(app)


def server(settings: Settings, port: int) -> Server:
    return make_server(application(), settings, port=port)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--smoke", action="store_true",
                        help="answer one Ping in this process, then stop")
    args = parser.parse_args()
    settings = Settings.from_env()
    if settings.pin_cpus and not args.smoke:  # as `skp serve` keeps itself
        affinity.take(None)
    serving = server(settings, args.port)
    serving.prepare()
    host, port = serving.bind_addr[:2]
    if args.smoke:
        smoke(serving, settings, port)
        return
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=serving.stop).start())
    out(f"listening on {host}:{port}")
    serving.serve()


def smoke(serving: Server, settings: Settings, port: int) -> None:
    """One Ping over mutual TLS with the server's own certificate as the client's."""
    import requests

    thread = threading.Thread(target=serving.serve, daemon=True)
    thread.start()
    try:
        with requests.Session() as session:
            session.trust_env = False
            session.verify = str(settings.tls_client_ca)
            session.cert = (str(settings.tls_cert), str(settings.tls_key))
            answer = session.post(f"https://127.0.0.1:{port}/schuldregeling", timeout=30,
                                  data=PING, headers={"SOAPAction": '"Ping"',
                                                      "Content-Type": "text/xml"})
        out(f"spyne Ping: HTTP {answer.status_code}, "
            f"{'answered' if b'PingResponse' in answer.content else 'NOT answered'}")
    finally:
        serving.stop()


PING = (b'<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>'
        b'<Ping xmlns="urn:skp:schuldregeling:2.0"><Tekst>bench</Tekst></Ping>'
        b"</soap:Body></soap:Envelope>")


if __name__ == "__main__":
    main()
