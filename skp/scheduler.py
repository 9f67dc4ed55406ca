"""APScheduler wiring inside ``skp serve``: the purge (with the key epochs) every
``SKP_PURGE_INTERVAL``, SQLite's WAL checkpoint every ``SKP_WAL_CHECKPOINT_INTERVAL``, the
e-mail notifications every ``SKP_NOTIFY_POLL`` when ``SKP_SMTP_HOST`` is set, the acceptance
runs every ``SKP_ACCEPTANCE_INTERVAL`` and, when ``SKP_TEST_PARTNER`` is on, the test partner
every few seconds."""

from __future__ import annotations

import datetime as dt

from apscheduler.schedulers.background import BackgroundScheduler

from skp.hub import Hub
from skp.jobs import acceptance_job, checkpoint_job, notify_job, purge_job
from skp.mail import SmtpTransport
from skp.notifications import Notifier
from skp.partner import TestPartner, ensure_partners

#: How often the test partner looks at its mailboxes.
PARTNER_INTERVAL = 2.0


def start(hub: Hub) -> BackgroundScheduler:
    """Start a background scheduler with the hub's jobs; the first runs start at once."""
    scheduler = BackgroundScheduler(timezone="UTC")
    now = dt.datetime.now(dt.UTC)  # scheduling is wall-clock time, whatever the hub's clock
    scheduler.add_job(purge_job, "interval", args=[hub], id="purge", max_instances=1,
                      coalesce=True, seconds=hub.settings.purge_interval.total_seconds(),
                      next_run_time=now)
    if hub.engine.dialect.name == "sqlite":
        scheduler.add_job(checkpoint_job, "interval", args=[hub], id="wal-checkpoint",
                          max_instances=1, coalesce=True,
                          seconds=hub.settings.wal_checkpoint_interval.total_seconds())
    notify = hub.settings.notify
    if notify.enabled:
        notifier = Notifier(hub.sessions, hub.settings, hub.clock, SmtpTransport(notify))
        scheduler.add_job(notify_job, "interval", args=[hub, notifier], id="notify",
                          max_instances=1, coalesce=True, seconds=notify.poll.total_seconds(),
                          next_run_time=now)
    scheduler.add_job(acceptance_job, "interval", args=[hub], id="acceptance",
                      max_instances=1, coalesce=True,
                      seconds=hub.settings.acceptance_interval.total_seconds(),
                      next_run_time=now)
    if hub.settings.test_partner:
        ensure_partners(hub.participants)
        scheduler.add_job(TestPartner(hub.mailbox).work, "interval", id="test-partner",
                          max_instances=1, coalesce=True, seconds=PARTNER_INTERVAL,
                          next_run_time=now)
    scheduler.start()
    return scheduler
