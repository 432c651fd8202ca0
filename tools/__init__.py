"""Command-line tools that run beside the bot on the same database (no NoneBot here)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from config import BranchConfig
from domain.clock import Clock, FrozenClock, OffsetClock, clock_of
from storage.playground import playground_state


def clock_of_database(settings: BranchConfig, db_path: str, at: str | None = None) -> Clock:
    """The clock a tool runs on for ``db_path``: the moment ``at`` (``2026-12-01 20:00``, in
    ``branch_timezone``) when given; on a playground's database, the playground bot's clock
    (its saved offset, so ``:skip`` counts); otherwise the bot's own (``clock_of``)."""
    if at is not None:
        try:
            moment = datetime.fromisoformat(at.strip())
        except ValueError:
            raise ValueError(f"--at 的时间格式不对：{at!r}（例如 2026-12-01 20:00）") from None
        tz = ZoneInfo(settings.branch_timezone)
        return FrozenClock(moment if moment.tzinfo else moment.replace(tzinfo=tz), tz)
    state = playground_state(db_path)
    if state is not None:
        return OffsetClock(settings.branch_timezone, state.clock_offset_seconds)
    return clock_of(settings)


def backup_dir_of(settings: BranchConfig, db_path: str) -> str:
    """Where the backups of ``db_path`` live: ``BACKUP_DIR`` as the bot reads it (``.env`` or the
    environment); when it is not set there, a playground's database names its own folder."""
    if "backup_dir" not in settings.model_fields_set:
        state = playground_state(db_path)
        if state is not None:
            return state.backup_dir
    return settings.backup_dir
