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
    """Wall clock plus an offset that only grows; the playground's clock (``:skip 1d``)."""

    def __init__(self, tz: str | ZoneInfo = "Asia/Shanghai") -> None:
        super().__init__(tz)
        self.offset = timedelta(0)

    def now(self) -> datetime:
        return datetime.now(self.tz) + self.offset

    def advance_to(self, moment: datetime) -> datetime:
        """Move forward so that ``now()`` is at least ``moment``; never backwards."""
        self.offset = max(self.offset, moment - datetime.now(self.tz))
        return self.now()
