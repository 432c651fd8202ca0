"""One "bot process" for the restart tests: services and a paused scheduler on a database."""

from contextlib import asynccontextmanager

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from domain.services import open_services


@asynccontextmanager
async def running(path, settings, clock, jobs_class):
    """Services and a paused scheduler on the database at ``path``, and ``jobs_class`` (a
    ``runtime.scheduling.StoredJobs``) on them; closed at the end, as a process stopping."""
    svc = await open_services(settings, clock, str(path))
    scheduler = AsyncIOScheduler(timezone="UTC")  # deliberately not the branch's zone
    scheduler.start(paused=True)
    try:
        yield svc, scheduler, jobs_class(scheduler, lambda: svc)
    finally:
        scheduler.shutdown(wait=False)
        await svc.db.close()
