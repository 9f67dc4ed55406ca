"""Settings.from_env: defaults, one test per SKP_* variable, and loud failures.

Every test passes its own mapping to ``from_env``; the process environment is never read.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
from pathlib import Path

import pytest

from skp.config import (
    DEFAULT_DATABASE_URL,
    DEFAULT_KEK_FILE,
    Environment,
    KeyStoreKind,
    NotifySettings,
    Pkcs11Settings,
    Settings,
    SmtpSecurity,
)
from skp.errors import ConfigError, SkpError


def test_defaults_run_the_embedded_hub():
    settings = Settings.from_env({})

    assert settings == Settings()
    assert settings.environment is Environment.DEVELOPMENT
    assert settings.database_url == DEFAULT_DATABASE_URL
    assert settings.database_url.startswith("sqlite:///")
    assert settings.kek_file == Path(DEFAULT_KEK_FILE)
    assert settings.working_days == 4
    assert settings.reply_working_days == 10
    assert settings.extra_non_working_days == ()
    assert settings.purge_interval == dt.timedelta(minutes=5)
    assert settings.purge_batch_size == 500
    assert settings.max_message_bytes == 4 * 1024 * 1024
    assert settings.metadata_retention == dt.timedelta(days=396)
    assert settings.send_rate == 600
    assert settings.send_window == dt.timedelta(seconds=60)
    assert settings.mailbox_limit == 10_000


def test_unrelated_variables_are_ignored():
    assert Settings.from_env({"PATH": "/usr/bin", "SKP_UNKNOWN": "x"}) == Settings()


@pytest.mark.parametrize("blank", ["", "   ", "\t"])
def test_blank_values_mean_the_default(blank):
    names = ["SKP_DATABASE_URL", "SKP_KEK_FILE", "SKP_WORKING_DAYS", "SKP_REPLY_WORKING_DAYS",
             "SKP_EXTRA_NON_WORKING_DAYS", "SKP_PURGE_INTERVAL", "SKP_PURGE_BATCH_SIZE",
             "SKP_MAX_MESSAGE_BYTES", "SKP_METADATA_RETENTION_DAYS", "SKP_ENVIRONMENT",
             "SKP_SEND_RATE", "SKP_SEND_WINDOW", "SKP_MAILBOX_LIMIT"]
    assert Settings.from_env(dict.fromkeys(names, blank)) == Settings()


@pytest.mark.parametrize("url", [
    "sqlite:///var/other.sqlite3",
    "sqlite:////srv/skp/skp.sqlite3",
    "postgresql+psycopg://skp@db.internal:5432/skp",
    "postgresql://skp@localhost/skp",
])
def test_database_url(url):
    assert Settings.from_env({"SKP_DATABASE_URL": url}).database_url == url


def test_database_url_is_stripped():
    settings = Settings.from_env({"SKP_DATABASE_URL": "  sqlite:///x.sqlite3\n"})
    assert settings.database_url == "sqlite:///x.sqlite3"


def test_kek_file():
    settings = Settings.from_env({"SKP_KEK_FILE": "/etc/skp/kek.json"})
    assert settings.kek_file == Path("/etc/skp/kek.json")
    assert isinstance(settings.kek_file, Path)


def test_working_days():
    assert Settings.from_env({"SKP_WORKING_DAYS": "5"}).working_days == 5
    assert Settings.from_env({"SKP_WORKING_DAYS": " 1 "}).working_days == 1


def test_reply_working_days():
    assert Settings.from_env({"SKP_REPLY_WORKING_DAYS": "15"}).reply_working_days == 15


def test_extra_non_working_days_are_parsed_and_sorted():
    settings = Settings.from_env(
        {"SKP_EXTRA_NON_WORKING_DAYS": "2026-05-15, 2026-05-06,2027-01-02"})
    assert settings.extra_non_working_days == (
        dt.date(2026, 5, 6), dt.date(2026, 5, 15), dt.date(2027, 1, 2))


def test_one_extra_non_working_day():
    settings = Settings.from_env({"SKP_EXTRA_NON_WORKING_DAYS": "2026-05-15"})
    assert settings.extra_non_working_days == (dt.date(2026, 5, 15),)


def test_purge_interval_in_seconds():
    settings = Settings.from_env({"SKP_PURGE_INTERVAL": "60"})
    assert settings.purge_interval == dt.timedelta(seconds=60)


def test_purge_batch_size():
    assert Settings.from_env({"SKP_PURGE_BATCH_SIZE": "25"}).purge_batch_size == 25


def test_max_message_bytes():
    assert Settings.from_env({"SKP_MAX_MESSAGE_BYTES": "1048576"}).max_message_bytes == 1048576


def test_metadata_retention_in_days():
    settings = Settings.from_env({"SKP_METADATA_RETENTION_DAYS": "30"})
    assert settings.metadata_retention == dt.timedelta(days=30)


def test_send_rate_and_window():
    settings = Settings.from_env({"SKP_SEND_RATE": "20", "SKP_SEND_WINDOW": "1"})
    assert (settings.send_rate, settings.send_window) == (20, dt.timedelta(seconds=1))


def test_mailbox_limit():
    assert Settings.from_env({"SKP_MAILBOX_LIMIT": "500"}).mailbox_limit == 500


def test_quotas_are_off_at_zero():
    settings = Settings.from_env({"SKP_SEND_RATE": "0", "SKP_MAILBOX_LIMIT": "0"})
    assert (settings.send_rate, settings.mailbox_limit) == (0, 0)


@pytest.mark.parametrize(("raw", "expected"), [
    ("development", Environment.DEVELOPMENT),
    ("production", Environment.PRODUCTION),
    (" production ", Environment.PRODUCTION),
])
def test_environment(raw, expected):
    settings = Settings.from_env({"SKP_ENVIRONMENT": raw})
    assert settings.environment is expected


def test_key_store_and_epochs():
    settings = Settings.from_env({
        "SKP_KEY_STORE": "pkcs11", "SKP_PKCS11_LIBRARY": "/usr/lib/softhsm/libsofthsm2.so",
        "SKP_PKCS11_TOKEN": "hub", "SKP_PKCS11_PIN_FILE": "/etc/skp/pin",
        "SKP_KEK_EPOCH": "3600", "SKP_WAL_CHECKPOINT_INTERVAL": "30"})
    assert settings.key_store is KeyStoreKind.PKCS11
    assert settings.pkcs11 == Pkcs11Settings(Path("/usr/lib/softhsm/libsofthsm2.so"), "hub",
                                             Path("/etc/skp/pin"))
    assert settings.kek_epoch == dt.timedelta(hours=1)
    assert settings.wal_checkpoint_interval == dt.timedelta(seconds=30)
    defaults = Settings.from_env({})
    assert defaults.key_store is KeyStoreKind.FILE and defaults.kek_epoch == dt.timedelta(days=1)


def test_pkcs11_needs_its_library_and_pin_file():
    with pytest.raises(ConfigError, match=r"SKP_PKCS11_LIBRARY .* SKP_PKCS11_PIN_FILE"):
        Settings.from_env({"SKP_KEY_STORE": "pkcs11", "SKP_PKCS11_LIBRARY": "/lib/x.so"})


def test_all_variables_together():
    settings = Settings.from_env({
        "SKP_ENVIRONMENT": "production",
        "SKP_DATABASE_URL": "postgresql+psycopg://skp@db/skp",
        "SKP_KEK_FILE": "/run/secrets/kek.json",
        "SKP_WORKING_DAYS": "5",
        "SKP_REPLY_WORKING_DAYS": "20",
        "SKP_EXTRA_NON_WORKING_DAYS": "2026-12-24",
        "SKP_PURGE_INTERVAL": "900",
        "SKP_PURGE_BATCH_SIZE": "100",
        "SKP_MAX_MESSAGE_BYTES": "2000000",
        "SKP_METADATA_RETENTION_DAYS": "400",
        "SKP_SEND_RATE": "100",
        "SKP_SEND_WINDOW": "10",
        "SKP_MAILBOX_LIMIT": "2000",
    })
    assert settings == Settings(
        environment=Environment.PRODUCTION,
        database_url="postgresql+psycopg://skp@db/skp",
        kek_file=Path("/run/secrets/kek.json"),
        working_days=5,
        reply_working_days=20,
        extra_non_working_days=(dt.date(2026, 12, 24),),
        purge_interval=dt.timedelta(seconds=900),
        purge_batch_size=100,
        max_message_bytes=2_000_000,
        metadata_retention=dt.timedelta(days=400),
        send_rate=100,
        send_window=dt.timedelta(seconds=10),
        mailbox_limit=2000,
    )


INVALID = [
    ("SKP_DATABASE_URL", "mysql://skp@db/skp", "SQLAlchemy URL"),
    ("SKP_DATABASE_URL", "var/skp.sqlite3", "SQLAlchemy URL"),
    ("SKP_WORKING_DAYS", "four", "whole number of working days"),
    ("SKP_WORKING_DAYS", "0", "at least 1"),
    ("SKP_WORKING_DAYS", "-4", "at least 1"),
    ("SKP_WORKING_DAYS", "4.5", "whole number of working days"),
    ("SKP_REPLY_WORKING_DAYS", "ten", "whole number of working days"),
    ("SKP_REPLY_WORKING_DAYS", "0", "at least 1"),
    ("SKP_EXTRA_NON_WORKING_DAYS", "15-05-2026", "ISO dates"),
    ("SKP_EXTRA_NON_WORKING_DAYS", "2026-02-30", "ISO dates"),
    ("SKP_EXTRA_NON_WORKING_DAYS", "2026-05-15;2026-05-16", "ISO dates"),
    ("SKP_PURGE_INTERVAL", "5m", "number of seconds"),
    ("SKP_PURGE_INTERVAL", "0", "at least 1"),
    ("SKP_PURGE_BATCH_SIZE", "all", "messages per batch"),
    ("SKP_PURGE_BATCH_SIZE", "0", "at least 1"),
    ("SKP_MAX_MESSAGE_BYTES", "4MB", "number of bytes"),
    ("SKP_MAX_MESSAGE_BYTES", "-1", "at least 1"),
    ("SKP_METADATA_RETENTION_DAYS", "13 months", "number of days"),
    ("SKP_METADATA_RETENTION_DAYS", "0", "at least 1"),
    ("SKP_SEND_RATE", "-1", "0 or more"),
    ("SKP_SEND_RATE", "ten", "messages per send window"),
    ("SKP_SEND_WINDOW", "0", "at least 1"),
    ("SKP_SEND_WINDOW", "3601", "at most 3600"),
    ("SKP_SEND_WINDOW", "1m", "number of seconds from 1 to 3600"),
    ("SKP_MAILBOX_LIMIT", "-5", "0 or more"),
    ("SKP_MAILBOX_LIMIT", "1e4", "pending messages"),
    ("SKP_WAL_CHECKPOINT_INTERVAL", "1m", "number of seconds"),
    ("SKP_WAL_CHECKPOINT_INTERVAL", "0", "at least 1"),
    ("SKP_KEK_EPOCH", "1d", "number of seconds"),
    ("SKP_KEY_STORE", "vault", "'file' or 'pkcs11'"),
    ("SKP_ENVIRONMENT", "staging", "'development' or 'production'"),
    ("SKP_ENVIRONMENT", "prod", "'development' or 'production'"),
    ("SKP_SMTP_PORT", "0", "TCP port"),
    ("SKP_SMTP_SECURITY", "ssl", "'starttls' (default), 'tls' or 'none'"),
    ("SKP_NOTIFY_FROM", "noreply", "an e-mail address"),
    ("SKP_NOTIFY_INTERVAL", "1h", "number of seconds"),
    ("SKP_NOTIFY_POLL", "0", "at least 1"),
]


@pytest.mark.parametrize(("name", "raw", "hint"), INVALID,
                         ids=[f"{name}={raw}" for name, raw, _ in INVALID])
def test_invalid_value_names_the_variable_and_the_fix(name, raw, hint):
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({name: raw})

    error = caught.value
    assert isinstance(error, SkpError)
    assert error.code == "Server.Configuration"
    assert name in error.message
    assert repr(raw) in error.message
    assert "Set it to" in error.message
    assert hint in error.message
    assert str(error).startswith("Server.Configuration: ")
    # The parsing error is chained, not swallowed.
    assert isinstance(error.__cause__, ValueError)


def test_the_first_invalid_variable_is_reported_even_with_valid_ones():
    with pytest.raises(ConfigError, match="SKP_PURGE_BATCH_SIZE"):
        Settings.from_env({"SKP_WORKING_DAYS": "5", "SKP_PURGE_BATCH_SIZE": "many"})


def test_settings_are_frozen():
    settings = Settings.from_env({})
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.working_days = 5  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.database_url = "sqlite:///other.sqlite3"  # type: ignore[misc]
    assert settings.working_days == 4


def test_settings_are_hashable_values():
    assert hash(Settings.from_env({})) == hash(Settings())
    assert Settings.from_env({"SKP_WORKING_DAYS": "5"}) != Settings()


def test_changed_copy_leaves_the_original_alone():
    settings = Settings()
    changed = dataclasses.replace(settings, purge_batch_size=10)
    assert changed.purge_batch_size == 10
    assert settings.purge_batch_size == 500


def test_environment_is_a_str_enum():
    assert Environment.PRODUCTION == "production"
    assert {e.value for e in Environment} == {"development", "production"}


def test_production_refuses_the_test_partner():
    with pytest.raises(ConfigError, match="SKP_TEST_PARTNER=true is for development hubs only"):
        Settings.from_env({"SKP_ENVIRONMENT": "production", "SKP_TEST_PARTNER": "true"})
    assert Settings.from_env({"SKP_TEST_PARTNER": "true"}).test_partner
    assert not Settings.from_env({"SKP_ENVIRONMENT": "production",
                                  "SKP_TEST_PARTNER": "false"}).test_partner


def test_notifications_are_off_without_an_smtp_host():
    assert not Settings.from_env({}).notify.enabled
    assert not Settings.from_env({"SKP_NOTIFY_INTERVAL": "600"}).notify.enabled


def test_notification_settings():
    notify = Settings.from_env({
        "SKP_SMTP_HOST": "smtp.example.nl", "SKP_SMTP_USER": "skp",
        "SKP_SMTP_PASSWORD_FILE": "/run/secrets/smtp", "SKP_SMTP_CA": "/etc/ssl/smtp-ca.pem",
        "SKP_SMTP_TIMEOUT": "10", "SKP_NOTIFY_FROM": "Schuldenknooppunt <noreply@example.nl>",
        "SKP_NOTIFY_INTERVAL": "900", "SKP_NOTIFY_POLL": "30"}).notify
    assert notify == NotifySettings(
        smtp_host="smtp.example.nl", smtp_user="skp",
        smtp_password_file=Path("/run/secrets/smtp"), smtp_ca=Path("/etc/ssl/smtp-ca.pem"),
        smtp_timeout=dt.timedelta(seconds=10), sender="Schuldenknooppunt <noreply@example.nl>",
        interval=dt.timedelta(seconds=900), poll=dt.timedelta(seconds=30))
    assert notify.enabled and notify.port == 587 and notify.smtp_security is SmtpSecurity.STARTTLS
    implicit = Settings.from_env({"SKP_SMTP_HOST": "smtp.example.nl", "SKP_SMTP_SECURITY": "tls",
                                  "SKP_NOTIFY_FROM": "noreply@example.nl"}).notify
    assert implicit.port == 465
    assert dataclasses.replace(implicit, smtp_port=2465).port == 2465
    relay = Settings.from_env({"SKP_SMTP_HOST": "localhost", "SKP_SMTP_SECURITY": "none",
                               "SKP_NOTIFY_FROM": "noreply@example.nl"}).notify
    assert relay.port == 25 and relay.smtp_security is SmtpSecurity.NONE


@pytest.mark.parametrize(("env", "hint"), [
    ({"SKP_SMTP_HOST": "smtp.example.nl"}, "SKP_NOTIFY_FROM"),
    ({"SKP_SMTP_HOST": "smtp.example.nl", "SKP_NOTIFY_FROM": "a@example.nl",
      "SKP_SMTP_USER": "skp"}, "SKP_SMTP_PASSWORD_FILE"),
    ({"SKP_SMTP_HOST": "localhost", "SKP_NOTIFY_FROM": "a@example.nl", "SKP_SMTP_USER": "skp",
      "SKP_SMTP_PASSWORD_FILE": "/p", "SKP_SMTP_SECURITY": "none"}, "in clear"),
    ({"SKP_SMTP_HOST": "smtp.example.nl", "SKP_NOTIFY_FROM": "a@example.nl",
      "SKP_SMTP_SECURITY": "none"}, "not this machine"),
])
def test_inconsistent_notification_settings_are_refused(env, hint):
    with pytest.raises(ConfigError, match=hint):
        Settings.from_env(env)


PG = "postgresql+psycopg://skp@db/skp"


def test_workers_default_to_one_per_cpu_on_postgresql_and_one_on_sqlite():
    assert Settings.from_env({}).processes == 1
    cpus = len(os.sched_getaffinity(0))
    assert Settings.from_env({"SKP_DATABASE_URL": PG}).processes == cpus
    assert Settings.from_env({"SKP_DATABASE_URL": PG, "SKP_WORKERS": "3"}).processes == 3
    assert Settings.from_env({"SKP_WORKERS": "1"}).processes == 1


def test_sqlite_refuses_more_than_one_worker():
    with pytest.raises(ConfigError, match=r"SKP_WORKERS=2 \(or --workers\) needs PostgreSQL"):
        Settings.from_env({"SKP_WORKERS": "2"})
    with pytest.raises(ConfigError, match="needs PostgreSQL"):
        dataclasses.replace(Settings(), workers=4)


@pytest.mark.parametrize("raw", ["0", "-1", "two"])
def test_workers_must_be_a_positive_number(raw):
    with pytest.raises(ConfigError, match=f"SKP_WORKERS='{raw}' is invalid"):
        Settings.from_env({"SKP_DATABASE_URL": PG, "SKP_WORKERS": raw})


def test_drain_timeout_and_the_metrics_directory():
    settings = Settings.from_env({"SKP_DRAIN_TIMEOUT": "5", "PROMETHEUS_MULTIPROC_DIR": "/run/m"})
    assert settings.drain_timeout == 5
    assert settings.metrics_directory == Path("/run/m")
    assert Settings.from_env({}).metrics_directory is None


def test_requests_per_connection():
    assert Settings.from_env({}).keepalive_requests == 100
    assert Settings.from_env({"SKP_KEEPALIVE_REQUESTS": "1"}).keepalive_requests == 1
    with pytest.raises(ConfigError, match="SKP_KEEPALIVE_REQUESTS='0' is invalid"):
        Settings.from_env({"SKP_KEEPALIVE_REQUESTS": "0"})
