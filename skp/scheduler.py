"""APScheduler wiring: the purge job every ``SKP_PURGE_INTERVAL`` inside ``skp serve``."""

from __future__ import annotations

import datetime as dt

from apscheduler.schedulers.background import BackgroundScheduler

from skp.hub import Hub
from skp.jobs import purge_job


def start(hub: Hub) -> BackgroundScheduler:
    """Start a background scheduler with the hub's jobs; the first purge runs at once."""
    scheduler = BackgroundScheduler(timezone="UTC")
    scheduler.add_job(purge_job, "interval", args=[hub], id="purge", max_instances=1,
                      coalesce=True, seconds=hub.settings.purge_interval.total_seconds(),
                      next_run_time=dt.datetime.now(dt.UTC))  # scheduling is wall-clock time
    scheduler.start()
    return scheduler
