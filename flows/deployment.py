"""The nightly deployment, defined in code.

Cron schedules need the Prefect server's scheduler, so this runs against a real server:

    prefect server start                                    # terminal 1 (UI on :4200)
    export PREFECT_API_URL=http://127.0.0.1:4200/api
    nianbao serve --cron '0 2 * * *' --timezone Asia/Shanghai   # terminal 2 (long-running)

``nianbao serve`` registers the deployment ``nianbao-run/nightly`` with a Cron schedule and
starts a runner that executes the scheduled runs; ``prefect deployment run
nianbao-run/nightly`` triggers one now.
"""
from __future__ import annotations

from pathlib import Path

from flows import defaults

DEFAULT_CRON = "0 2 * * *"
DEFAULT_TZ = "Asia/Shanghai"


class ScheduleError(ValueError):
    pass


def check_schedule(cron: str, timezone: str) -> None:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ScheduleError(f"unknown time zone: {timezone}") from None
    from prefect.client.schemas.schedules import CronSchedule
    try:
        CronSchedule(cron=cron, timezone=timezone)
    except Exception:
        raise ScheduleError(f"invalid cron expression: {cron!r}") from None


def build_deployment(source: str, dest: str, cron: str = DEFAULT_CRON, timezone: str = DEFAULT_TZ,
                     name: str = "nightly", glob: str = defaults.GLOB, follow_symlinks: bool = False,
                     allow_empty: bool = False, sites: str | None = None,
                     reviews: str | None = None):
    from prefect.schedules import Cron
    from flows.prefect_flow import nianbao_run
    return nianbao_run.to_deployment(
        name=name,
        schedules=[Cron(cron, timezone=timezone)],
        parameters={"source": source if "://" in source else str(Path(source).resolve()),
                    "dest": str(Path(dest).resolve()), "glob": glob, "follow_symlinks": follow_symlinks,
                    "allow_empty": allow_empty,
                    **({"sites": str(Path(sites).resolve())} if sites else {}),
                    # None: the default reviews file of the served folder, read by every run
                    "reviews": str(Path(reviews).resolve()) if reviews else None},

        concurrency_limit=1,
        tags=["nightly"],
        description="Nightly nianbao run: (crawl ->) discover -> parse -> validate -> publish -> quality report.",
    )


def serve_nightly(source: str, dest: str, cron: str = DEFAULT_CRON, timezone: str = DEFAULT_TZ,
                  name: str = "nightly", **options) -> None:
    """``options``: the source options of the run (glob, follow_symlinks, allow_empty, sites) and the reviews file."""
    from prefect import serve
    serve(build_deployment(source, dest, cron, timezone, name, **options))
