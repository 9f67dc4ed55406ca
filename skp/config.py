"""Settings: one frozen object, read once from ``SKP_*`` environment variables.

Every variable has a default that runs the embedded hub (SQLite and files under ``var/``).
An invalid value raises :class:`~skp.errors.ConfigError` naming the variable and the fix
(skp.envvalues reads and parses each value).
"""

from __future__ import annotations

import datetime as dt
import enum
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from skp import cpus
from skp import envvalues as parse
from skp.errors import ConfigError


class Environment(enum.StrEnum):
    """Where the hub runs; production refuses development conveniences."""

    DEVELOPMENT = "development"
    PRODUCTION = "production"


DEFAULT_DATABASE_URL = "sqlite:///var/skp.sqlite3"
DEFAULT_KEK_FILE = "var/kek.json"


class KeyStoreKind(enum.StrEnum):
    """Where the key-encryption keys live (docs/operations.md, "Key stores")."""

    FILE = "file"
    PKCS11 = "pkcs11"


@dataclass(frozen=True)
class Pkcs11Settings:
    """The HSM that holds the KEKs when ``SKP_KEY_STORE=pkcs11`` (``SKP_PKCS11_*``)."""

    #: The vendor's PKCS#11 library, e.g. /usr/lib/softhsm/libsofthsm2.so.
    library: Path | None = None
    token_label: str = "skp"  # noqa: S105 - a label, not a secret
    #: A file holding the user PIN (never the PIN itself in the environment).
    pin_file: Path | None = None

    @classmethod
    def from_env(cls, get: parse.Getter) -> Pkcs11Settings:
        return cls(
            library=get("SKP_PKCS11_LIBRARY", Path, None, "the path of the PKCS#11 library"),
            token_label=get("SKP_PKCS11_TOKEN", str, "skp", "the token's label"),
            pin_file=get("SKP_PKCS11_PIN_FILE", Path, None,
                         "the path of a file holding the token's user PIN"),
        )


@dataclass(frozen=True)
class PortalSettings:
    """The web portal's configuration (``SKP_PORTAL_*``; docs/portal.md). ``skp serve`` runs it
    beside the hub when it is enabled (``make run`` does)."""

    enabled: bool = False
    bind_host: str = "127.0.0.1"
    bind_port: int = 8444
    #: The address organisations use; the broker redirects back to it.
    public_url: str = "https://localhost:8444"
    #: The portal's certificate; by default the hub's (SKP_TLS_CERT, SKP_TLS_KEY).
    tls_cert: Path | None = None
    tls_key: Path | None = None
    #: A random key that signs the forms' CSRF tokens; shared by every portal process.
    secret_file: Path = Path("var/portal-secret")
    #: The eHerkenning broker (OpenID Connect): its issuer, the portal's client id and secret.
    oidc_issuer: str | None = None
    oidc_client_id: str = "skp-portal"
    oidc_client_secret_file: Path | None = None
    #: CA bundle to trust for the broker; by default the system's.
    oidc_ca: Path | None = None
    #: The eHerkenning services: the portal's own, and "Schuldenknooppunt Beheer".
    portal_service: str = "urn:etoegang:DV:skp:services:portaal"
    beheer_service: str = "urn:etoegang:DV:skp:services:beheer"
    claim_legal_subject: str = "urn:etoegang:core:LegalSubjectID"
    claim_acting_subject: str = "urn:etoegang:core:ActingSubjectID"
    claim_vestiging: str = "urn:etoegang:1.9:ServiceRestriction:Vestigingsnr"
    claim_service: str = "urn:etoegang:core:ServiceID"
    claim_assurance: str = "acr"

    @classmethod
    def from_env(cls, get: parse.Getter) -> PortalSettings:
        path = "a file path"
        return cls(
            enabled=get("SKP_PORTAL", parse.boolean, False, "true or false"),
            bind_host=get("SKP_PORTAL_BIND_HOST", str, "127.0.0.1", "an address, e.g. 0.0.0.0"),
            bind_port=get("SKP_PORTAL_BIND_PORT", parse.port, 8444, "a TCP port from 1 to 65535"),
            public_url=get("SKP_PORTAL_PUBLIC_URL", parse.https_url, "https://localhost:8444",
                           "the https:// address organisations use, without a path"),
            tls_cert=get("SKP_PORTAL_TLS_CERT", Path, None, path),
            tls_key=get("SKP_PORTAL_TLS_KEY", Path, None, path),
            secret_file=get("SKP_PORTAL_SECRET_FILE", Path, Path("var/portal-secret"), path),
            oidc_issuer=get("SKP_PORTAL_OIDC_ISSUER", parse.https_url, None,
                            "the broker's https:// issuer URL"),
            oidc_client_id=get("SKP_PORTAL_OIDC_CLIENT_ID", str, "skp-portal",
                               "the portal's client id at the broker"),
            oidc_client_secret_file=get("SKP_PORTAL_OIDC_CLIENT_SECRET_FILE", Path, None, path),
            oidc_ca=get("SKP_PORTAL_OIDC_CA", Path, None, path),
            portal_service=get("SKP_PORTAL_SERVICE_ID", str, cls.portal_service,
                               "the portal's eHerkenning ServiceID"),
            beheer_service=get("SKP_PORTAL_BEHEER_SERVICE_ID", str, cls.beheer_service,
                               "the ServiceID of Schuldenknooppunt Beheer"),
            claim_legal_subject=get("SKP_PORTAL_CLAIM_KVK", str, cls.claim_legal_subject,
                                    "a claim name"),
            claim_acting_subject=get("SKP_PORTAL_CLAIM_ACTING_SUBJECT", str,
                                     cls.claim_acting_subject, "a claim name"),
            claim_vestiging=get("SKP_PORTAL_CLAIM_VESTIGING", str, cls.claim_vestiging,
                                "a claim name"),
            claim_service=get("SKP_PORTAL_CLAIM_SERVICE", str, cls.claim_service,
                              "a claim name"),
            claim_assurance=get("SKP_PORTAL_CLAIM_ASSURANCE", str, cls.claim_assurance,
                                "a claim name"),
        )


#: The host names of this machine: the only relay mail goes to in clear.
_LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})


class SmtpSecurity(enum.StrEnum):
    """How the connection to the mail server is protected."""

    STARTTLS = "starttls"  # plain connect, then STARTTLS before anything else (port 587)
    TLS = "tls"  # TLS from the first byte (port 465)
    NONE = "none"  # no TLS: a relay on the same machine only, never with a password


@dataclass(frozen=True)
class NotifySettings:
    """E-mail notifications of new messages and reminders (``SKP_SMTP_*``, ``SKP_NOTIFY_*``;
    docs/operations.md). Off unless ``SKP_SMTP_HOST`` is set."""

    smtp_host: str | None = None
    #: By default 587 for STARTTLS, 465 for TLS and 25 without.
    smtp_port: int | None = None
    smtp_security: SmtpSecurity = SmtpSecurity.STARTTLS
    smtp_user: str | None = None
    smtp_password_file: Path | None = None
    #: CA bundle to verify the mail server with; by default the system's.
    smtp_ca: Path | None = None
    smtp_timeout: dt.timedelta = dt.timedelta(seconds=30)
    #: The From address, e.g. "Schuldenknooppunt <noreply@example.nl>".
    sender: str | None = None
    #: At most one notice of new messages per unit per interval.
    interval: dt.timedelta = dt.timedelta(hours=1)
    #: How often the scheduler looks for notices to decide and mails to send (and retries).
    poll: dt.timedelta = dt.timedelta(seconds=60)

    def __post_init__(self) -> None:
        if self.smtp_host is None:
            return
        if self.sender is None:
            raise ConfigError("SKP_SMTP_HOST is set but SKP_NOTIFY_FROM is not: set it to the "
                              "From address of the notifications, e.g. noreply@example.nl")
        if (self.smtp_user is None) != (self.smtp_password_file is None):
            raise ConfigError("SKP_SMTP_USER and SKP_SMTP_PASSWORD_FILE go together: set both "
                              "to log in to the mail server, or neither")
        if self.smtp_security is SmtpSecurity.NONE and self.smtp_user is not None:
            raise ConfigError("SKP_SMTP_SECURITY=none sends the password in clear: use "
                              "starttls or tls with SKP_SMTP_USER")
        if self.smtp_security is SmtpSecurity.NONE and self.smtp_host not in _LOCAL_HOSTS:
            raise ConfigError(f"SKP_SMTP_SECURITY=none sends mail in clear, and "
                              f"SKP_SMTP_HOST={self.smtp_host} is not this machine: use "
                              "starttls or tls, or a relay on localhost")

    @property
    def enabled(self) -> bool:
        return self.smtp_host is not None

    @property
    def port(self) -> int:
        if self.smtp_port is not None:
            return self.smtp_port
        return {SmtpSecurity.STARTTLS: 587, SmtpSecurity.TLS: 465,
                SmtpSecurity.NONE: 25}[self.smtp_security]

    @classmethod
    def from_env(cls, get: parse.Getter) -> NotifySettings:
        path = "a file path"
        return cls(
            smtp_host=get("SKP_SMTP_HOST", str, None, "the mail server's host name"),
            smtp_port=get("SKP_SMTP_PORT", parse.port, None, "a TCP port from 1 to 65535"),
            smtp_security=get("SKP_SMTP_SECURITY", SmtpSecurity, SmtpSecurity.STARTTLS,
                              "'starttls' (default), 'tls' or 'none'"),
            smtp_user=get("SKP_SMTP_USER", str, None, "the user name at the mail server"),
            smtp_password_file=get("SKP_SMTP_PASSWORD_FILE", Path, None, path),
            smtp_ca=get("SKP_SMTP_CA", Path, None, path),
            smtp_timeout=get("SKP_SMTP_TIMEOUT", parse.seconds, dt.timedelta(seconds=30),
                             "a number of seconds, at least 1 (default 30)"),
            sender=get("SKP_NOTIFY_FROM", parse.address, None,
                       "an e-mail address, optionally with a name: Naam <adres@example.nl>"),
            interval=get("SKP_NOTIFY_INTERVAL", parse.seconds, dt.timedelta(hours=1),
                         "a number of seconds, at least 1 (default 3600)"),
            poll=get("SKP_NOTIFY_POLL", parse.seconds, dt.timedelta(seconds=60),
                     "a number of seconds, at least 1 (default 60)"),
        )


@dataclass(frozen=True)
class Settings:
    """The hub's configuration. Build it with :meth:`from_env`; tests construct it directly."""

    environment: Environment = Environment.DEVELOPMENT
    database_url: str = DEFAULT_DATABASE_URL
    kek_file: Path = Path(DEFAULT_KEK_FILE)
    #: Working days a recipient has to fetch a message (domain.md: 4, the handbooks said 5).
    working_days: int = 4
    #: Working days within which a reply is expected (procesafspraak 2.3); bounds how long the
    #: hub keeps a Saldoverzoek's sealed claim references for the zero-amount expansion.
    reply_working_days: int = 10
    #: Days equated to public holidays by royal decree (Algemene termijnenwet), e.g. a bridge day.
    extra_non_working_days: tuple[dt.date, ...] = ()
    purge_interval: dt.timedelta = dt.timedelta(minutes=5)
    purge_batch_size: int = 500
    #: How often SQLite's WAL is copied into the database and truncated (besides each purge).
    wal_checkpoint_interval: dt.timedelta = dt.timedelta(seconds=60)
    #: How long one KEK wraps new data keys before the next epoch's KEK takes over.
    kek_epoch: dt.timedelta = dt.timedelta(days=1)
    #: Where the KEKs are: ``file`` (SKP_KEK_FILE) or ``pkcs11`` (an HSM; SKP_PKCS11_*).
    key_store: KeyStoreKind = KeyStoreKind.FILE
    pkcs11: Pkcs11Settings = Pkcs11Settings()
    max_message_bytes: int = 4 * 1024 * 1024
    metadata_retention: dt.timedelta = dt.timedelta(days=396)  # 13 months
    #: Most messages a sender may have accepted in any :attr:`send_window`; 0 = no limit.
    send_rate: int = 600
    send_window: dt.timedelta = dt.timedelta(seconds=60)
    #: Most pending (queued or fetched) messages of one recipient in one module; 0 = no limit.
    mailbox_limit: int = 10_000
    #: Largest HTTP request body read at all (a 4 MB message grows in base64 and XML).
    max_request_bytes: int = 8 * 1024 * 1024
    bind_host: str = "127.0.0.1"
    bind_port: int = 8443
    #: The address integrators use; it is written into every WSDL.
    public_url: str = "https://localhost:8443"
    tls_cert: Path = Path("certs/server.pem")
    tls_key: Path = Path("certs/server.key")
    #: CA bundle the participants' client certificates must chain to.
    tls_client_ca: Path = Path("certs/ca.pem")
    server_threads: int = 16
    #: Requests a process works on at once; the other threads wait their turn (docs/server.md).
    active_requests: int = 4
    #: Connections open at once from one peer address (trusted proxies excepted).
    max_connections_per_address: int = 4
    #: Seconds for the TLS handshake, and again for a whole request head (docs/server.md).
    head_timeout: int = 10
    #: Requests one connection carries; the answer to the last says ``Connection: close``, so
    #: the client connects again and the connections spread over the worker processes anew.
    keepalive_requests: int = 100
    #: Bytes a second a request body and its answer must move at, on average, after a grace of
    #: ``head_timeout``.
    min_transfer_rate: int = 16 * 1024
    #: Addresses of TLS-terminating proxies trusted to pass the client certificate.
    trusted_proxies: tuple[str, ...] = ()
    client_cert_header: str = "X-SSL-Client-Cert"
    #: Networks allowed to read /metrics (it lists every recipient's backlog).
    metrics_clients: tuple[str, ...] = ("127.0.0.1/32", "::1/128")
    #: Run the built-in test partner (skp/partner.py); for development hubs only.
    test_partner: bool = False
    #: How long an acceptance step waits for the adapter (a person at a keyboard starts some).
    acceptance_step_limit: dt.timedelta = dt.timedelta(minutes=15)
    #: How many messages the partners send at once in the acceptance burst.
    acceptance_burst: int = 50
    #: How often the scheduler advances the running acceptance runs.
    acceptance_interval: dt.timedelta = dt.timedelta(seconds=5)
    portal: PortalSettings = PortalSettings()
    notify: NotifySettings = NotifySettings()
    #: Worker processes of ``skp serve``; None: one per CPU on PostgreSQL (skp.cpus), 1 on SQLite.
    workers: int | None = None
    #: Seconds a stopping worker lets its requests in flight finish before it closes them.
    drain_timeout: int = 30
    #: Each serving process on one CPU of its own (skp.server.affinity).
    pin_cpus: bool = True
    #: Where the worker processes of one ``skp serve`` keep their metrics, summed at a scrape
    #: (prometheus_client's multiprocess mode); the supervisor sets it for its workers.
    metrics_directory: Path | None = None

    def __post_init__(self) -> None:
        if self.key_store is KeyStoreKind.PKCS11 and (self.pkcs11.library is None
                                                       or self.pkcs11.pin_file is None):
            raise ConfigError("SKP_KEY_STORE=pkcs11 needs SKP_PKCS11_LIBRARY (the HSM's "
                              "PKCS#11 library) and SKP_PKCS11_PIN_FILE (a file with its PIN)")
        if self.environment is Environment.PRODUCTION and self.test_partner:
            raise ConfigError("SKP_TEST_PARTNER=true is for development hubs only (its "
                              "participants answer everything), and SKP_ENVIRONMENT is "
                              "production: unset SKP_TEST_PARTNER")
        if (self.workers or 1) > 1 and self.database_url.startswith("sqlite"):
            raise ConfigError(f"SKP_WORKERS={self.workers} (or --workers) needs PostgreSQL: "
                              "a SQLite hub is served by one process; set SKP_WORKERS=1 or "
                              "SKP_DATABASE_URL to a PostgreSQL database")

    @property
    def processes(self) -> int:
        """The worker processes ``skp serve`` runs: SKP_WORKERS, by default one per CPU on
        PostgreSQL (those it may run on, no more than a CPU limit rounded up) and one on
        SQLite."""
        if self.workers is not None:
            return self.workers
        if self.database_url.startswith("sqlite"):
            return 1
        return cpus.count()

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read settings from ``environ`` (default: the process environment)."""
        get = parse.getter(os.environ if environ is None else environ)
        return cls(
            environment=get("SKP_ENVIRONMENT", Environment, Environment.DEVELOPMENT,
                            "'development' or 'production'"),
            database_url=get("SKP_DATABASE_URL", parse.database_url, DEFAULT_DATABASE_URL,
                             "a SQLAlchemy URL such as sqlite:///var/skp.sqlite3 or "
                             "postgresql+psycopg://user@host/db"),
            kek_file=get("SKP_KEK_FILE", Path, Path(DEFAULT_KEK_FILE),
                         "the path of the key-encryption-key file"),
            working_days=get("SKP_WORKING_DAYS", parse.positive_int, 4,
                             "a whole number of working days, at least 1 (default 4)"),
            reply_working_days=get("SKP_REPLY_WORKING_DAYS", parse.positive_int, 10,
                                   "a whole number of working days, at least 1 (default 10)"),
            extra_non_working_days=get("SKP_EXTRA_NON_WORKING_DAYS", parse.dates, (),
                                       "a comma-separated list of ISO dates, e.g. 2026-05-15"),
            purge_interval=get("SKP_PURGE_INTERVAL", parse.seconds, dt.timedelta(minutes=5),
                               "a number of seconds, at least 1 (default 300)"),
            purge_batch_size=get("SKP_PURGE_BATCH_SIZE", parse.positive_int, 500,
                                 "a whole number of messages per batch, at least 1"),
            wal_checkpoint_interval=get("SKP_WAL_CHECKPOINT_INTERVAL", parse.seconds,
                                        dt.timedelta(seconds=60),
                                        "a number of seconds, at least 1 (default 60)"),
            kek_epoch=get("SKP_KEK_EPOCH", parse.seconds, dt.timedelta(days=1),
                          "a number of seconds, at least 1 (default 86400, one day)"),
            key_store=get("SKP_KEY_STORE", KeyStoreKind, KeyStoreKind.FILE,
                          "'file' or 'pkcs11'"),
            pkcs11=Pkcs11Settings.from_env(get),
            max_message_bytes=get("SKP_MAX_MESSAGE_BYTES", parse.positive_int, 4 * 1024 * 1024,
                                  "a number of bytes, at least 1 (default 4194304 = 4 MB)"),
            metadata_retention=get("SKP_METADATA_RETENTION_DAYS", parse.days,
                                   dt.timedelta(days=396),
                                   "a number of days, at least 1 (default 396, 13 months)"),
            send_rate=get("SKP_SEND_RATE", parse.count, 600,
                          "a whole number of messages per send window, 0 for no limit "
                          "(default 600)"),
            send_window=get("SKP_SEND_WINDOW", parse.window, dt.timedelta(seconds=60),
                            "a number of seconds from 1 to 3600 (default 60)"),
            mailbox_limit=get("SKP_MAILBOX_LIMIT", parse.count, 10_000,
                              "a whole number of pending messages, 0 for no limit "
                              "(default 10000)"),
            max_request_bytes=get("SKP_MAX_REQUEST_BYTES", parse.positive_int, 8 * 1024 * 1024,
                                  "a number of bytes, at least 1 (default 8388608 = 8 MB)"),
            bind_host=get("SKP_BIND_HOST", str, "127.0.0.1",
                          "the address to listen on, e.g. 0.0.0.0"),
            bind_port=get("SKP_BIND_PORT", parse.port, 8443, "a TCP port from 1 to 65535"),
            public_url=get("SKP_PUBLIC_URL", parse.https_url, "https://localhost:8443",
                           "the https:// address integrators use, without a path"),
            tls_cert=get("SKP_TLS_CERT", Path, Path("certs/server.pem"),
                         "the path of the server certificate (PEM, with its chain)"),
            tls_key=get("SKP_TLS_KEY", Path, Path("certs/server.key"),
                        "the path of the server's private key (PEM)"),
            tls_client_ca=get("SKP_TLS_CLIENT_CA", Path, Path("certs/ca.pem"),
                              "the path of the CA bundle for client certificates (PEM)"),
            server_threads=get("SKP_SERVER_THREADS", parse.positive_int, 16,
                               "a number of worker threads, at least 1"),
            active_requests=get("SKP_ACTIVE_REQUESTS", parse.positive_int, 4,
                                "a number of requests worked on at once, at least 1 (default 4)"),
            max_connections_per_address=get(
                "SKP_MAX_CONNECTIONS_PER_ADDRESS", parse.positive_int, 4,
                "a number of connections, at least 1 (default 4)"),
            head_timeout=get("SKP_HEAD_TIMEOUT", parse.positive_int, 10,
                             "a number of seconds, at least 1 (default 10)"),
            keepalive_requests=get("SKP_KEEPALIVE_REQUESTS", parse.positive_int, 100,
                                   "a number of requests per connection, at least 1 "
                                   "(default 100)"),
            min_transfer_rate=get("SKP_MIN_TRANSFER_RATE", parse.positive_int, 16 * 1024,
                                  "a number of bytes a second, at least 1 (default 16384)"),
            trusted_proxies=get("SKP_TRUSTED_PROXIES", parse.addresses, (),
                                "a comma-separated list of proxy IP addresses"),
            client_cert_header=get("SKP_CLIENT_CERT_HEADER", str, "X-SSL-Client-Cert",
                                   "the header a trusted proxy puts the client certificate in"),
            metrics_clients=get("SKP_METRICS_CLIENTS", parse.networks, ("127.0.0.1/32", "::1/128"),
                                "a comma-separated list of networks, e.g. 10.0.0.0/24"),
            test_partner=get("SKP_TEST_PARTNER", parse.boolean, False, "true or false"),
            acceptance_step_limit=get(
                "SKP_ACCEPTANCE_STEP_LIMIT", parse.seconds, dt.timedelta(minutes=15),
                "a number of seconds an acceptance step waits, at least 1 (default 900)"),
            acceptance_burst=get("SKP_ACCEPTANCE_BURST", parse.positive_int, 50,
                                 "a number of messages, at least 1 (default 50)"),
            acceptance_interval=get(
                "SKP_ACCEPTANCE_INTERVAL", parse.seconds, dt.timedelta(seconds=5),
                "a number of seconds between acceptance ticks, at least 1 (default 5)"),
            portal=PortalSettings.from_env(get),
            notify=NotifySettings.from_env(get),
            workers=get("SKP_WORKERS", parse.positive_int, None,
                        "a number of worker processes, at least 1 (default: one per CPU on "
                        "PostgreSQL, 1 on SQLite)"),
            drain_timeout=get("SKP_DRAIN_TIMEOUT", parse.positive_int, 30,
                              "a number of seconds, at least 1 (default 30)"),
            pin_cpus=get("SKP_PIN_CPUS", parse.boolean, True, "true or false"),
            metrics_directory=get("PROMETHEUS_MULTIPROC_DIR", Path, None,
                                  "a directory, or unset it (skp serve sets it for its "
                                  "workers)"),
        )
