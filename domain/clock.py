"""The one injectable clock. Everything that needs "now" asks a Clock."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo


class Clock:
    """Wall clock in the configured timezone."""

    def __init__(self, tz: str | ZoneInfo = "Asia/Shanghai") -> None:
        self.tz = tz if isinstance(tz, ZoneInfo) else ZoneInfo(tz)

    def now(self) -> datetime:
        return datetime.now(self.tz)

    def timestamp(self) -> int:
        """Now as Unix epoch seconds (what the database stores)."""
        return int(self.now().timestamp())

    def from_timestamp(self, ts: int | float) -> datetime:
        return datetime.fromtimestamp(ts, self.tz)

    def format(self, ts: int | float | None, fmt: str = "%m-%d %H:%M") -> str:
        return "" if ts is None else self.from_timestamp(ts).strftime(fmt)


class FrozenClock(Clock):
    """A clock that only moves when told to; for tests."""

    def __init__(self, at: datetime, tz: str | ZoneInfo = "Asia/Shanghai") -> None:
        super().__init__(tz)
        self._now = at.astimezone(self.tz) if at.tzinfo else at.replace(tzinfo=self.tz)

    def now(self) -> datetime:
        return self._now

    def set(self, at: datetime) -> None:
        self._now = at.astimezone(self.tz) if at.tzinfo else at.replace(tzinfo=self.tz)

    def advance(self, **delta: float) -> datetime:
        self._now = self._now + timedelta(**delta)
        return self._now


class OffsetClock(Clock):
    """Wall clock plus an offset that only grows: the playground's clock (``:skip 1d``), and
    a bot started ahead of the wall clock (``clock_offset_seconds``, for date-proof tests)."""

    def __init__(self, tz: str | ZoneInfo = "Asia/Shanghai", offset_seconds: float = 0) -> None:
        super().__init__(tz)
        self.offset = timedelta(seconds=offset_seconds)

    def now(self) -> datetime:
        return datetime.now(self.tz) + self.offset

    def advance_to(self, moment: datetime) -> datetime:
        """Move forward so that ``now()`` is at least ``moment``; never backwards."""
        self.offset = max(self.offset, moment - datetime.now(self.tz))
        return self.now()


def clock_for(tz: str, offset_seconds: float = 0, movable: bool = False) -> Clock:
    """The clock a process runs on: the wall clock, or one ``offset_seconds`` ahead of it
    (``movable``: the playground may move it further forward)."""
    if offset_seconds or movable:
        return OffsetClock(tz, offset_seconds)
    return Clock(tz)


def clock_of(settings) -> Clock:
    """The clock the settings describe (``branch_timezone``, ``clock_offset_seconds``); for the
    command-line tools, which run on the same date as the bot."""
    return clock_for(settings.branch_timezone, settings.clock_offset_seconds)
