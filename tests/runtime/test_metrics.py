"""Scheduled jobs are counted by their runs and failures, as APScheduler reports them."""

import asyncio

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from runtime import metrics


def runs(job: str, result: str) -> float:
    return metrics.REGISTRY.get_sample_value(
        "zhibu_job_runs_total", {"job": job, "result": result}) or 0.0


async def test_job_runs_and_failures_are_counted_by_job_name():
    from plugins.health import JOB_EVENTS, job_event

    finished = asyncio.Event()
    seen = []

    def listener(event) -> None:
        job_event(event)
        seen.append(event.job_id)
        if len(seen) == 3:
            finished.set()

    async def fine() -> None:
        return None

    async def broken() -> None:
        raise RuntimeError("a job that fails")

    before = (runs("reminder", "ok"), runs("reminder", "error"), runs("daily_backup", "ok"))
    scheduler = AsyncIOScheduler()
    scheduler.add_listener(listener, JOB_EVENTS)
    scheduler.start()
    try:
        scheduler.add_job(fine, id="reminder:7")  # no trigger: runs once, now
        scheduler.add_job(broken, id="reminder:8")
        scheduler.add_job(fine, id="daily_backup")
        await asyncio.wait_for(finished.wait(), 10)
    finally:
        scheduler.shutdown(wait=False)
    after = (runs("reminder", "ok"), runs("reminder", "error"), runs("daily_backup", "ok"))
    assert [a - b for a, b in zip(after, before, strict=True)] == [1, 1, 1]
