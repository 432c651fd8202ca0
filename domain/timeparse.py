"""Parse the Chinese time expressions users type in chat commands into schedules.

Pure Python: no nonebot import, no wall clock. ``now`` is always passed in, and its
``tzinfo`` is the configured timezone that every returned datetime is expressed in.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone, tzinfo

from apscheduler.triggers.cron import CronTrigger

from domain.errors import DomainError

__all__ = [
    "OneShot",
    "Repeating",
    "Schedule",
    "TimeParseError",
    "dump_schedule",
    "load_schedule",
    "parse_moment",
    "parse_schedule",
]

DEFAULT_HORIZON_DAYS = 730  # config: time_horizon_days
ONCE_FORMS = "2026-12-01 19:30、12-01 19:30、今天/明天/后天 19:30、19:30"
REPEAT_FORMS = "每天 08:00、工作日 07:30、每周三 19:00、每月1日 09:00、cron <5段表达式>"

KINDS = ("daily", "workdays", "weekly", "monthly", "cron")
WEEKDAY_CHARS = "一二三四五六日"  # index 0 = Monday, as datetime.weekday()
_APS_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")  # apscheduler: 0 = Monday
_CRONTAB_WEEKDAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")  # crontab: 0 (or 7) = Sunday
_RELATIVE_DAYS = {"今天": 0, "明天": 1, "后天": 2}

# ASCII digits only ([0-9], never \d, which also matches e.g. Arabic-Indic digits).
_TIME = r"(?P<h>[0-9]{1,2})[:：](?P<m>[0-9]{2})(?=\s|\Z)"
_ABSOLUTE = re.compile(
    r"(?P<y>[0-9]{4})(?P<sep>[-/])(?P<mo>[0-9]{1,2})(?P=sep)(?P<d>[0-9]{1,2})\s+" + _TIME
)
_MONTH_DAY = re.compile(r"(?P<mo>[0-9]{1,2})[-/](?P<d>[0-9]{1,2})\s+" + _TIME)
_RELATIVE = re.compile(r"(?P<rel>今天|明天|后天)\s*" + _TIME)
_BARE = re.compile(_TIME)
_DAILY = re.compile(r"每天\s*" + _TIME)
_WORKDAYS = re.compile(r"工作日\s*" + _TIME)
_WEEKLY = re.compile(r"每周(?P<wd>[一二三四五六日天])\s*" + _TIME)
_MONTHLY = re.compile(r"每月(?P<day>[0-9]{1,2})[日号]\s*" + _TIME)
_CRON = re.compile(r"(?i:cron)(?P<expr>(?:\s+\S+){5})")
_CRON_WORD = re.compile(r"(?i:cron)(?=\s|\Z)")
_REPEAT_WORD = re.compile(r"每天|工作日|每周|每月|(?i:cron)(?=\s|\Z)")
_CRON_FIELD = re.compile(r"[0-9A-Za-z*/,\-]+")

_DUMP_CLOCK = r"(?P<h>[0-9]{2}):(?P<m>[0-9]{2})"
_LOADERS = {
    "daily": re.compile(r"daily " + _DUMP_CLOCK),
    "workdays": re.compile(r"workdays " + _DUMP_CLOCK),
    "weekly": re.compile(r"weekly (?P<wd>mon|tue|wed|thu|fri|sat|sun) " + _DUMP_CLOCK),
    "monthly": re.compile(r"monthly (?P<day>[0-9]{1,2}) " + _DUMP_CLOCK),
    "cron": re.compile(r"cron (?P<expr>\S+(?: \S+){4})"),
}


class TimeParseError(DomainError, ValueError):
    """User-facing error; str(e) is a concise Chinese message that names the accepted forms."""


@dataclass(frozen=True)
class OneShot:
    """A single moment."""

    at: datetime  # aware, in the configured tz

    def __post_init__(self) -> None:
        if self.at.tzinfo is None or self.at.utcoffset() is None:
            raise ValueError("OneShot.at must be timezone-aware")

    def describe(self) -> str:
        """E.g. ``2026-12-01 19:30``."""
        return self.at.strftime("%Y-%m-%d %H:%M")


@dataclass(frozen=True)
class Repeating:
    """A repeating schedule; only the fields that belong to ``kind`` may be set."""

    kind: str  # "daily" | "workdays" | "weekly" | "monthly" | "cron"
    hour: int = 0
    minute: int = 0
    weekday: int | None = None  # 0=Monday .. 6=Sunday, for "weekly"
    day: int | None = None  # 1..31 for "monthly"
    cron: str | None = None  # the 5-field crontab expression for "cron"

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown kind {self.kind!r}")
        if not (0 <= self.hour <= 23 and 0 <= self.minute <= 59):
            raise ValueError(f"bad clock {self.hour}:{self.minute}")
        if (self.weekday is not None) != (self.kind == "weekly"):
            raise ValueError("weekday is required for, and only for, kind 'weekly'")
        if self.weekday is not None and not 0 <= self.weekday <= 6:
            raise ValueError(f"bad weekday {self.weekday}")
        if (self.day is not None) != (self.kind == "monthly"):
            raise ValueError("day is required for, and only for, kind 'monthly'")
        if self.day is not None and not 1 <= self.day <= 31:
            raise ValueError(f"bad day {self.day}")
        if (self.cron is not None) != (self.kind == "cron"):
            raise ValueError("cron is required for, and only for, kind 'cron'")
        if self.cron is not None:
            if self.hour or self.minute:
                raise ValueError("hour/minute must stay 0 for kind 'cron'")
            fields = self.cron.split()
            if len(fields) != 5 or " ".join(fields) != self.cron:
                raise ValueError(f"cron must be 5 single-space-separated fields: {self.cron!r}")

    @property
    def _clock(self) -> str:
        return f"{self.hour:02d}:{self.minute:02d}"

    def describe(self) -> str:
        """Chinese text, e.g. ``每周三 19:00``; parsing it again gives an equal schedule."""
        if self.kind == "daily":
            return f"每天 {self._clock}"
        if self.kind == "workdays":
            return f"工作日 {self._clock}"
        if self.kind == "weekly":
            return f"每周{WEEKDAY_CHARS[self.weekday]} {self._clock}"
        if self.kind == "monthly":
            return f"每月{self.day}日 {self._clock}"
        return f"cron {self.cron}"

    def trigger(self, tz: tzinfo) -> CronTrigger:
        """An apscheduler CronTrigger in ``tz``; raises ValueError for an invalid cron."""
        if self.kind == "cron":
            return _crontab_trigger(self.cron, tz)
        common = {"hour": self.hour, "minute": self.minute, "second": 0, "timezone": tz}
        if self.kind == "workdays":
            return CronTrigger(day_of_week="mon-fri", **common)
        if self.kind == "weekly":
            return CronTrigger(day_of_week=_APS_WEEKDAYS[self.weekday], **common)
        if self.kind == "monthly":
            return CronTrigger(day=self.day, **common)
        return CronTrigger(**common)

    def next_after(self, moment: datetime) -> datetime | None:
        """Next fire time strictly after ``moment`` (aware), in ``moment``'s timezone."""
        zone = _zone_of(moment)
        return self.trigger(zone).get_next_fire_time(None, moment + timedelta(microseconds=1))


Schedule = OneShot | Repeating


def parse_schedule(text: str, now: datetime, *, allow_repeat: bool = True,
                   horizon_days: int = DEFAULT_HORIZON_DAYS) -> tuple[Schedule, str]:
    """Parse a time expression at the start of `text`; return (schedule, rest stripped).

    A one-off time more than ``horizon_days`` ahead is refused (nobody plans a session for
    9999-12-31, and dates that far out overflow the scheduler)."""
    zone = _zone_of(now)
    now = now.astimezone(zone)
    forms = f"{ONCE_FORMS}、{REPEAT_FORMS}" if allow_repeat else ONCE_FORMS
    head = text.strip()
    if not allow_repeat and _REPEAT_WORD.match(head):
        raise TimeParseError(f"这里需要一个具体的时间，不能用重复时间。可用：{forms}")
    for pattern, build in _RULES:
        match = pattern.match(head)
        if match:
            try:
                schedule = build(match, now, forms)
            except TimeParseError:
                raise
            except (OverflowError, ValueError) as exc:
                raise TimeParseError(f"时间格式不对。可用：{forms}") from exc
            if isinstance(schedule, OneShot) and schedule.at - now > timedelta(days=horizon_days):
                raise TimeParseError(f"时间太远了：最多只能安排到 {horizon_days} 天以内。")
            return schedule, head[match.end() :].strip()
    if _CRON_WORD.match(head):
        raise TimeParseError(_cron_message(forms))
    raise TimeParseError(f"时间格式不对。可用：{forms}")


def parse_moment(text: str, now: datetime, *, horizon_days: int = DEFAULT_HORIZON_DAYS
                 ) -> tuple[datetime, str]:
    """Like parse_schedule(allow_repeat=False) but returns the aware datetime directly."""
    schedule, rest = parse_schedule(text, now, allow_repeat=False, horizon_days=horizon_days)
    assert isinstance(schedule, OneShot)
    return schedule.at, rest


def dump_schedule(s: Schedule) -> str:
    """A stable text form for a DB column, e.g. ``once 2026-12-01T19:30:00+08:00``."""
    if isinstance(s, OneShot):
        return f"once {s.at.isoformat()}"
    if s.kind == "weekly":
        return f"weekly {_APS_WEEKDAYS[s.weekday]} {s._clock}"
    if s.kind == "monthly":
        return f"monthly {s.day} {s._clock}"
    if s.kind == "cron":
        return f"cron {s.cron}"
    return f"{s.kind} {s._clock}"


def load_schedule(text: str, tz: tzinfo) -> Schedule:
    """Inverse of dump_schedule; a OneShot comes back in ``tz``. ValueError if malformed."""
    kind, _, body = text.partition(" ")
    if kind == "once":
        at = datetime.fromisoformat(body)
        if at.tzinfo is None:
            raise ValueError(f"stored one-shot time has no offset: {text!r}")
        return OneShot(at.astimezone(tz))
    pattern = _LOADERS.get(kind)
    match = pattern.fullmatch(text) if pattern else None
    if match is None:
        raise ValueError(f"not a stored schedule: {text!r}")
    if kind == "cron":
        return Repeating("cron", cron=match["expr"])
    hour, minute = int(match["h"]), int(match["m"])
    if kind == "weekly":
        return Repeating("weekly", hour, minute, weekday=_APS_WEEKDAYS.index(match["wd"]))
    if kind == "monthly":
        return Repeating("monthly", hour, minute, day=int(match["day"]))
    return Repeating(kind, hour, minute)


# --- parsing helpers -------------------------------------------------------------------


def _zone_of(moment: datetime) -> tzinfo:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("datetime must be timezone-aware")
    return moment.tzinfo


def _cron_message(forms: str) -> str:
    return f"cron 表达式不对，要 5 段：分 时 日 月 周（如 cron 0 8 * * 1-5）。可用：{forms}"


def _clock(match: re.Match[str], forms: str) -> tuple[int, int]:
    hour, minute = int(match["h"]), int(match["m"])
    if hour > 23 or minute > 59:
        raise TimeParseError(f"钟点不对：小时 0–23，分钟 00–59。可用：{forms}")
    return hour, minute


def _local(day: date, hour: int, minute: int, zone: tzinfo, forms: str) -> datetime:
    """Wall-clock time in ``zone``, normalised through UTC (so DST gaps resolve)."""
    try:
        wall = datetime(day.year, day.month, day.day, hour, minute, tzinfo=zone)
        return wall.astimezone(timezone.utc).astimezone(zone)
    except OverflowError:
        raise TimeParseError(f"时间超出范围。可用：{forms}") from None


def _date(year: int, month: int, day: int, forms: str) -> date:
    try:
        return date(year, month, day)
    except ValueError:
        raise TimeParseError(
            f"没有 {year:04d}-{month:02d}-{day:02d} 这一天。可用：{forms}"
        ) from None


def _shift(day: date, days: int, forms: str) -> date:
    try:
        return day + timedelta(days=days)
    except OverflowError:
        raise TimeParseError(f"时间超出范围。可用：{forms}") from None


def _future(at: datetime, now: datetime) -> OneShot:
    if at <= now:
        raise TimeParseError(f"该时间已经过去（{at:%Y-%m-%d %H:%M}），请换一个将来的时间。")
    return OneShot(at)


def _build_absolute(m: re.Match[str], now: datetime, forms: str) -> Schedule:
    hour, minute = _clock(m, forms)
    day = _date(int(m["y"]), int(m["mo"]), int(m["d"]), forms)
    return _future(_local(day, hour, minute, now.tzinfo, forms), now)


def _build_month_day(m: re.Match[str], now: datetime, forms: str) -> Schedule:
    """This year, or next year when this year's moment is past (or does not exist, e.g. 02-29)."""
    hour, minute = _clock(m, forms)
    month, day_of_month = int(m["mo"]), int(m["d"])
    try:
        this_year: date | None = date(now.year, month, day_of_month)
    except ValueError:
        this_year = None
    at = _local(this_year, hour, minute, now.tzinfo, forms) if this_year else None
    if at is None or at <= now:
        if now.year >= 9999:
            raise TimeParseError(f"时间超出范围。可用：{forms}")
        day = _date(now.year + 1, month, day_of_month, forms)
        at = _local(day, hour, minute, now.tzinfo, forms)
    return _future(at, now)


def _build_relative(m: re.Match[str], now: datetime, forms: str) -> Schedule:
    hour, minute = _clock(m, forms)
    day = _shift(now.date(), _RELATIVE_DAYS[m["rel"]], forms)
    return _future(_local(day, hour, minute, now.tzinfo, forms), now)


def _build_bare(m: re.Match[str], now: datetime, forms: str) -> Schedule:
    hour, minute = _clock(m, forms)
    at = _local(now.date(), hour, minute, now.tzinfo, forms)
    if at <= now:
        at = _local(_shift(now.date(), 1, forms), hour, minute, now.tzinfo, forms)
    return _future(at, now)


def _build_daily(m: re.Match[str], now: datetime, forms: str) -> Schedule:
    return Repeating("daily", *_clock(m, forms))


def _build_workdays(m: re.Match[str], now: datetime, forms: str) -> Schedule:
    return Repeating("workdays", *_clock(m, forms))


def _build_weekly(m: re.Match[str], now: datetime, forms: str) -> Schedule:
    weekday = 6 if m["wd"] == "天" else WEEKDAY_CHARS.index(m["wd"])
    return Repeating("weekly", *_clock(m, forms), weekday=weekday)


def _build_monthly(m: re.Match[str], now: datetime, forms: str) -> Schedule:
    hour, minute = _clock(m, forms)
    day = int(m["day"])
    if not 1 <= day <= 31:
        raise TimeParseError(f"每月的日子要在 1–31 之间。可用：{forms}")
    return Repeating("monthly", hour, minute, day=day)


def _build_cron(m: re.Match[str], now: datetime, forms: str) -> Schedule:
    expr = " ".join(m["expr"].split())
    try:
        first = _crontab_trigger(expr, now.tzinfo).get_next_fire_time(None, now)
    except Exception:  # apscheduler's validation errors are not all ValueError
        raise TimeParseError(_cron_message(forms)) from None
    if first is None:
        raise TimeParseError(f"这个 cron 表达式永远不会触发。可用：{forms}")
    return Repeating("cron", cron=expr)


_RULES: tuple[tuple[re.Pattern[str], Callable[[re.Match[str], datetime, str], Schedule]], ...] = (
    (_ABSOLUTE, _build_absolute),
    (_MONTH_DAY, _build_month_day),
    (_RELATIVE, _build_relative),
    (_BARE, _build_bare),
    (_DAILY, _build_daily),
    (_WORKDAYS, _build_workdays),
    (_WEEKLY, _build_weekly),
    (_MONTHLY, _build_monthly),
    (_CRON, _build_cron),
)


# --- crontab ------------------------------------------------------------------------------


def _crontab_trigger(expr: str, tz: tzinfo) -> CronTrigger:
    """``CronTrigger.from_crontab`` with standard crontab weekday numbering (0/7 = Sunday).

    APScheduler 3.x's from_crontab numbers weekdays 0 = Monday (see its docstring), so
    ``1-5`` would mean Tue–Sat. Only the day-of-week field is rewritten, into weekday
    names; everything else is validated and evaluated by apscheduler.
    """
    fields = expr.split()
    if len(fields) != 5 or not all(_CRON_FIELD.fullmatch(f) for f in fields):
        raise ValueError(f"not a 5-field crontab expression: {expr!r}")
    fields[4] = _crontab_weekdays(fields[4])
    return CronTrigger.from_crontab(" ".join(fields), timezone=tz)


def _crontab_weekday(token: str) -> int:
    if token in _CRONTAB_WEEKDAYS:
        return _CRONTAB_WEEKDAYS.index(token)
    if len(token) == 1 and token in "01234567":
        return int(token)
    raise ValueError(f"bad crontab weekday {token!r}")


def _crontab_weekdays(field: str) -> str:
    """Rewrite a crontab day-of-week field (``1-5``, ``0,6``, ``*/2``, ``mon-fri``) as names."""
    days: set[int] = set()
    for item in field.lower().split(","):
        base, slash, step_text = item.partition("/")
        step = 1
        if slash:
            if not (re.fullmatch(r"[0-9]{1,2}", step_text) and int(step_text) > 0):
                raise ValueError(f"bad crontab step {item!r}")
            step = int(step_text)
        if base == "*":
            low, high = 0, 6
        else:
            first, dash, last = base.partition("-")
            low = _crontab_weekday(first)
            high = _crontab_weekday(last) if dash else (6 if slash else low)
        if low > high:
            raise ValueError(f"bad crontab weekday range {item!r}")
        days.update(value % 7 for value in range(low, high + 1, step))
    if len(days) == 7:
        return "*"
    return ",".join(_CRONTAB_WEEKDAYS[d] for d in sorted(days))
