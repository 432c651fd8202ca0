"""Chinese time expressions -> schedules (domain.timeparse); pure Python, no nonebot."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from apscheduler.triggers.cron import CronTrigger
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.timeparse import (
    OneShot,
    Repeating,
    TimeParseError,
    dump_schedule,
    load_schedule,
    parse_moment,
    parse_schedule,
)

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 27, 20, 0, tzinfo=TZ)  # a Friday evening
FAST = settings(max_examples=150, deadline=None)


def at(*args: int) -> datetime:
    return datetime(*args, tzinfo=TZ)


def once(text: str, now: datetime = NOW) -> tuple[datetime, str]:
    schedule, rest = parse_schedule(text, now)
    assert isinstance(schedule, OneShot)
    assert schedule.at.tzinfo is TZ
    return schedule.at, rest


def repeating(text: str) -> Repeating:
    schedule, rest = parse_schedule(text, NOW)
    assert isinstance(schedule, Repeating)
    assert rest == ""
    return schedule


# --- one-shot forms ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-12-01 19:30", at(2026, 12, 1, 19, 30)),
        ("2026/12/01 19:30", at(2026, 12, 1, 19, 30)),
        ("2026-12-1 8:00", at(2026, 12, 1, 8, 0)),
        ("2027-01-01 00:00", at(2027, 1, 1, 0, 0)),
        ("12-01 19:30", at(2026, 12, 1, 19, 30)),
        ("12/01 19:30", at(2026, 12, 1, 19, 30)),
        ("今天 21:00", at(2026, 11, 27, 21, 0)),
        ("明天 19:30", at(2026, 11, 28, 19, 30)),
        ("后天 8:00", at(2026, 11, 29, 8, 0)),
        ("后天 08:00", at(2026, 11, 29, 8, 0)),
        ("明天 19：30", at(2026, 11, 28, 19, 30)),  # full-width colon
        ("明天19:30", at(2026, 11, 28, 19, 30)),  # no space after the day word
        ("　明天　19:30　", at(2026, 11, 28, 19, 30)),  # full-width spaces
    ],
)
def test_one_shot_forms(text: str, expected: datetime) -> None:
    assert once(text) == (expected, "")


def test_rest_text_is_returned_stripped() -> None:
    assert once("明天 19:30 支部大会 三楼") == (at(2026, 11, 28, 19, 30), "支部大会 三楼")
    assert once("2026-12-01 19:30   交党费\n记得带发票 ") == (
        at(2026, 12, 1, 19, 30),
        "交党费\n记得带发票",
    )
    assert once("19:30 45 @张三") == (at(2026, 11, 28, 19, 30), "45 @张三")


def test_time_must_end_at_whitespace() -> None:
    with pytest.raises(TimeParseError):
        parse_schedule("19:30开会", NOW)
    with pytest.raises(TimeParseError):
        parse_schedule("19:300", NOW)


def test_bare_time_is_the_next_occurrence() -> None:
    assert once("20:01") == (at(2026, 11, 27, 20, 1), "")
    assert once("23:59") == (at(2026, 11, 27, 23, 59), "")
    assert once("19:30") == (at(2026, 11, 28, 19, 30), "")
    assert once("20:00") == (at(2026, 11, 28, 20, 0), "")  # equal to now -> tomorrow
    assert once("0:00") == (at(2026, 11, 28, 0, 0), "")
    # seconds on `now` count: 20:00 has passed at 20:00:30
    assert once("20:00", NOW.replace(second=30)) == (at(2026, 11, 28, 20, 0), "")


def test_month_day_rolls_into_next_year_when_past() -> None:
    assert once("11-27 20:30") == (at(2026, 11, 27, 20, 30), "")
    assert once("11-27 20:00") == (at(2027, 11, 27, 20, 0), "")  # equal to now
    assert once("11-27 19:00") == (at(2027, 11, 27, 19, 0), "")
    assert once("01-05 09:00") == (at(2027, 1, 5, 9, 0), "")
    # 02-29 does not exist in 2027 either, but does in 2028
    assert once("02-29 10:00", at(2027, 3, 1, 0, 0)) == (at(2028, 2, 29, 10, 0), "")
    with pytest.raises(TimeParseError, match="02-29"):
        parse_schedule("02-29 10:00", NOW)


def test_timezone_of_the_result() -> None:
    moment, _ = once("明天 19:30")
    assert moment == datetime(2026, 11, 28, 11, 30, tzinfo=timezone.utc)
    assert moment.utcoffset() == timedelta(hours=8)
    assert moment.tzinfo is TZ


def test_now_in_another_zone_uses_that_zone() -> None:
    utc_now = NOW.astimezone(timezone.utc)  # 12:00 UTC
    schedule, _ = parse_schedule("明天 19:30", utc_now)
    assert schedule == OneShot(datetime(2026, 11, 28, 19, 30, tzinfo=timezone.utc))
    assert schedule.at.tzinfo is timezone.utc


def test_naive_now_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="aware") as info:
        parse_schedule("明天 19:30", NOW.replace(tzinfo=None))
    assert not isinstance(info.value, TimeParseError)


def test_one_shot_describe() -> None:
    assert OneShot(at(2026, 12, 1, 19, 30)).describe() == "2026-12-01 19:30"
    assert OneShot(at(2026, 12, 1, 8, 5)).describe() == "2026-12-01 08:05"


def test_parse_moment_returns_the_datetime() -> None:
    assert parse_moment("明天 19:30 支部大会", NOW) == (at(2026, 11, 28, 19, 30), "支部大会")
    assert parse_moment("19:00 30 @李四", NOW) == (at(2026, 11, 28, 19, 0), "30 @李四")


# --- past times and refusals ---------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "2026-11-27 19:59",
        "2026-11-27 20:00",  # equal to now counts as past
        "2025-12-01 10:00",
        "今天 19:00",
        "今天 20:00",
        "今天 0:00",
    ],
)
def test_past_times_are_refused(text: str) -> None:
    with pytest.raises(TimeParseError, match=r"^该时间已经过去"):
        parse_schedule(text, NOW)
    with pytest.raises(TimeParseError, match=r"^该时间已经过去"):
        parse_moment(text, NOW)


@pytest.mark.parametrize(
    "text",
    ["每天 08:00", "工作日 07:30", "每周三 19:00", "每月1日 09:00", "cron 0 8 * * 1-5", "每周八"],
)
def test_repeating_forms_refused_when_a_single_time_is_needed(text: str) -> None:
    with pytest.raises(TimeParseError, match="具体的时间") as info:
        parse_schedule(text, NOW, allow_repeat=False)
    assert "每天" not in str(info.value)
    assert "19:30" in str(info.value)
    with pytest.raises(TimeParseError, match="具体的时间"):
        parse_moment(text + " 内容", NOW)


def test_error_message_lists_the_accepted_forms() -> None:
    with pytest.raises(TimeParseError) as info:
        parse_schedule("abc", NOW)
    assert str(info.value) == (
        "时间格式不对。可用：2026-12-01 19:30、12-01 19:30、今天/明天/后天 19:30、19:30、"
        "每天 08:00、工作日 07:30、每周三 19:00、每月1日 09:00、cron <5段表达式>"
    )
    with pytest.raises(TimeParseError) as info:
        parse_moment("abc", NOW)
    assert str(info.value) == (
        "时间格式不对。可用：2026-12-01 19:30、12-01 19:30、今天/明天/后天 19:30、19:30"
    )


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "abc",
        "25:00",
        "24:00",
        "12:60",
        "8:5",
        "008:00",
        "明天",
        "明天 25:00",
        "2026-12-01",
        "2026-02-30 10:00",
        "2026-13-01 10:00",
        "2026-00-10 10:00",
        "2026-12/01 10:00",
        "0000-01-01 00:00",
        "0001-01-01 00:00",
        "13-01 10:00",
        "每周八 10:00",
        "每周 10:00",
        "每周三",
        "每月32日 09:00",
        "每月0日 09:00",
        "每月1 09:00",
        "cron",
        "cron 1 2 3",
        "cron 1 2 3 4",
        "cron 61 * * * *",
        "cron * 24 * * *",
        "cron */0 * * * *",
        "cron 0 8 * * 8",
        "cron 0 8 * * 5-1",
        "cron 0 8 * * 1/0",
        "cron 0 8 * * 周一",
        "cron ٠ ٨ * * *",  # non-ASCII digits
        "cron 0 0 31 2 *",  # never fires
        "crontab 0 8 * * *",
        "１９:３０",  # full-width digits are not accepted
        "19:30:00",
        "明天 19:30" * 10_000,
        "9" * 100_000,
        "\x00\ud800\U0010ffff",
    ],
)
def test_garbage_raises_only_time_parse_error(text: str) -> None:
    with pytest.raises(TimeParseError) as info:
        parse_schedule(text, NOW)
    assert type(info.value) is TimeParseError
    assert "可用：" in str(info.value)
    assert len(str(info.value)) < 200


# --- repeating forms ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected", "description"),
    [
        ("每天 08:00", Repeating("daily", 8, 0), "每天 08:00"),
        ("每天 8:00", Repeating("daily", 8, 0), "每天 08:00"),
        ("工作日 07:30", Repeating("workdays", 7, 30), "工作日 07:30"),
        ("每周一 19:00", Repeating("weekly", 19, 0, weekday=0), "每周一 19:00"),
        ("每周三 19:00", Repeating("weekly", 19, 0, weekday=2), "每周三 19:00"),
        ("每周日 9:00", Repeating("weekly", 9, 0, weekday=6), "每周日 09:00"),
        ("每周天 9:00", Repeating("weekly", 9, 0, weekday=6), "每周日 09:00"),
        ("每月1日 09:00", Repeating("monthly", 9, 0, day=1), "每月1日 09:00"),
        ("每月1号 09:00", Repeating("monthly", 9, 0, day=1), "每月1日 09:00"),
        ("每月31日 23:59", Repeating("monthly", 23, 59, day=31), "每月31日 23:59"),
        ("cron 0 8 * * 1-5", Repeating("cron", cron="0 8 * * 1-5"), "cron 0 8 * * 1-5"),
        ("CRON  0  8 * *   mon-fri", Repeating("cron", cron="0 8 * * mon-fri"), None),
    ],
)
def test_repeating_forms(text: str, expected: Repeating, description: str | None) -> None:
    schedule = repeating(text)
    assert schedule == expected
    assert schedule.describe() == (description or f"cron {expected.cron}")


def test_repeating_rest_text() -> None:
    assert parse_schedule("每周三 19:00 组织生活会", NOW) == (
        Repeating("weekly", 19, 0, weekday=2),
        "组织生活会",
    )
    assert parse_schedule("cron 0 8 * * 1-5 早读 打卡", NOW) == (
        Repeating("cron", cron="0 8 * * 1-5"),
        "早读 打卡",
    )


def test_daily_next_after_is_strictly_after() -> None:
    daily = Repeating("daily", 8, 0)
    assert daily.next_after(NOW) == at(2026, 11, 28, 8, 0)
    assert daily.next_after(at(2026, 11, 28, 7, 59)) == at(2026, 11, 28, 8, 0)
    assert daily.next_after(at(2026, 11, 28, 8, 0)) == at(2026, 11, 29, 8, 0)
    assert daily.next_after(at(2026, 11, 28, 8, 0).replace(microsecond=1)) == at(2026, 11, 29, 8)


def test_workdays_skip_the_weekend() -> None:
    workdays = repeating("工作日 07:30")
    monday = workdays.next_after(NOW)  # Friday evening
    assert monday == at(2026, 11, 30, 7, 30)
    assert monday.weekday() == 0
    assert workdays.next_after(monday) == at(2026, 12, 1, 7, 30)
    assert workdays.next_after(at(2026, 11, 27, 7, 0)) == at(2026, 11, 27, 7, 30)


def test_weekly_next_after() -> None:
    wednesday = repeating("每周三 19:00")
    assert wednesday.next_after(NOW) == at(2026, 12, 2, 19, 0)
    assert wednesday.next_after(at(2026, 12, 2, 19, 0)) == at(2026, 12, 9, 19, 0)
    assert repeating("每周五 20:00").next_after(NOW) == at(2026, 12, 4, 20, 0)
    assert repeating("每周五 20:01").next_after(NOW) == at(2026, 11, 27, 20, 1)
    assert repeating("每周日 09:00").next_after(NOW) == at(2026, 11, 29, 9, 0)


def test_monthly_31st_skips_short_months() -> None:
    last = repeating("每月31日 09:00")
    first = last.next_after(NOW)
    assert first == at(2026, 12, 31, 9, 0)
    second = last.next_after(first)
    assert second == at(2027, 1, 31, 9, 0)
    assert last.next_after(second) == at(2027, 3, 31, 9, 0)  # no Feb 31
    assert last.next_after(at(2027, 3, 31, 9, 0)) == at(2027, 5, 31, 9, 0)  # no Apr 31
    assert repeating("每月1日 09:00").next_after(NOW) == at(2026, 12, 1, 9, 0)


def test_cron_uses_standard_crontab_weekdays() -> None:
    weekdays = repeating("cron 0 8 * * 1-5")
    monday = weekdays.next_after(NOW)
    assert monday == at(2026, 11, 30, 8, 0)
    assert monday.weekday() == 0
    assert weekdays.next_after(monday) == at(2026, 12, 1, 8, 0)
    friday = at(2026, 12, 4, 8, 0)
    assert weekdays.next_after(friday - timedelta(minutes=1)) == friday
    assert weekdays.next_after(friday) == at(2026, 12, 7, 8, 0)
    # 0 and 7 are Sunday, as in crontab; names mean what they say
    assert repeating("cron 0 8 * * 0").next_after(NOW) == at(2026, 11, 29, 8, 0)
    assert repeating("cron 0 8 * * 7").next_after(NOW) == at(2026, 11, 29, 8, 0)
    assert repeating("cron 0 8 * * 6").next_after(NOW) == at(2026, 11, 28, 8, 0)
    assert repeating("cron 0 8 * * sun").next_after(NOW) == at(2026, 11, 29, 8, 0)
    assert repeating("cron 0 8 * * mon-fri").next_after(NOW) == at(2026, 11, 30, 8, 0)
    assert repeating("cron 0 8 * * 5-7").next_after(NOW) == at(2026, 11, 28, 8, 0)
    # */2 is Sun, Tue, Thu, Sat
    every_other = repeating("cron 0 8 * * */2")
    fires = [every_other.next_after(at(2026, 11, 28, 9, 0) + timedelta(days=i)) for i in range(4)]
    assert [d.weekday() for d in fires] == [6, 1, 1, 3]


def test_cron_other_fields_follow_from_crontab() -> None:
    quarter = repeating("cron */15 9-17 * * *")
    assert quarter.next_after(NOW) == at(2026, 11, 28, 9, 0)
    assert quarter.next_after(at(2026, 11, 28, 9, 0)) == at(2026, 11, 28, 9, 15)
    assert repeating("cron 30 7 1 * *").next_after(NOW) == at(2026, 12, 1, 7, 30)
    assert repeating("cron 0 0 29 2 *").next_after(NOW) == at(2028, 2, 29, 0, 0)


def test_trigger_is_a_cron_trigger_in_the_given_zone() -> None:
    for text in ["每天 08:00", "工作日 07:30", "每周三 19:00", "每月1日 09:00", "cron 0 8 * * 1-5"]:
        trigger = repeating(text).trigger(TZ)
        assert isinstance(trigger, CronTrigger)
        assert trigger.timezone == TZ
    utc_fire = Repeating("daily", 8, 0).trigger(timezone.utc).get_next_fire_time(None, NOW)
    assert utc_fire == datetime(2026, 11, 28, 8, 0, tzinfo=timezone.utc)


def test_next_after_answers_in_the_moments_zone() -> None:
    fire = Repeating("daily", 8, 0).next_after(NOW)
    assert fire is not None
    assert fire.tzinfo == TZ
    assert fire.utcoffset() == timedelta(hours=8)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"kind": "hourly"},
        {"kind": "daily", "hour": 24},
        {"kind": "daily", "minute": 60},
        {"kind": "daily", "weekday": 1},
        {"kind": "weekly"},
        {"kind": "weekly", "weekday": 7},
        {"kind": "monthly"},
        {"kind": "monthly", "day": 0},
        {"kind": "monthly", "day": 32},
        {"kind": "cron"},
        {"kind": "cron", "cron": "0 8 * *"},
        {"kind": "cron", "cron": "0  8 * * *"},
        {"kind": "cron", "cron": "0 8 * * *", "hour": 8},
        {"kind": "daily", "cron": "0 8 * * *"},
    ],
)
def test_inconsistent_repeating_is_rejected(kwargs: dict) -> None:
    with pytest.raises(ValueError):
        Repeating(**kwargs)


def test_one_shot_must_be_aware() -> None:
    with pytest.raises(ValueError):
        OneShot(datetime(2026, 12, 1, 19, 30))


# --- storage form -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("schedule", "stored"),
    [
        (OneShot(at(2026, 12, 1, 19, 30)), "once 2026-12-01T19:30:00+08:00"),
        (Repeating("daily", 8, 0), "daily 08:00"),
        (Repeating("workdays", 7, 30), "workdays 07:30"),
        (Repeating("weekly", 19, 0, weekday=2), "weekly wed 19:00"),
        (Repeating("monthly", 9, 0, day=31), "monthly 31 09:00"),
        (Repeating("cron", cron="0 8 * * 1-5"), "cron 0 8 * * 1-5"),
    ],
)
def test_dump_and_load(schedule: OneShot | Repeating, stored: str) -> None:
    assert dump_schedule(schedule) == stored
    assert load_schedule(stored, TZ) == schedule


def test_load_puts_one_shot_into_the_zone() -> None:
    loaded = load_schedule("once 2026-12-01T11:30:00+00:00", TZ)
    assert loaded == OneShot(at(2026, 12, 1, 19, 30))
    assert isinstance(loaded, OneShot)
    assert loaded.at.tzinfo is TZ


@pytest.mark.parametrize(
    "stored",
    [
        "",
        "once",
        "once 2026-12-01T19:30:00",  # no offset
        "once tomorrow",
        "daily",
        "daily 8:00",
        "daily 24:00",
        "weekly 2 19:00",
        "weekly xyz 19:00",
        "monthly 0 09:00",
        "monthly 32 09:00",
        "cron 0 8 * *",
        "yearly 01-01 00:00",
        "daily 08:00 extra",
    ],
)
def test_load_rejects_malformed_text(stored: str) -> None:
    with pytest.raises(ValueError):
        load_schedule(stored, TZ)


# --- properties ---------------------------------------------------------------------------

future_minutes = st.datetimes(  # within the horizon (730 days from NOW)
    min_value=datetime(2026, 11, 27, 20, 1), max_value=datetime(2028, 11, 25, 23, 59)
).map(lambda d: d.replace(second=0, microsecond=0, tzinfo=TZ))

clock = {"hour": st.integers(0, 23), "minute": st.integers(0, 59)}
cron_field = {
    "minute": st.sampled_from(["*", "0", "30", "*/15", "0,30", "5-10", "59"]),
    "hour": st.sampled_from(["*", "0", "8", "23", "9-17", "*/2", "8,12,18"]),
    "day": st.sampled_from(["*", "1", "15", "28", "1-7", "*/10"]),
    "month": st.sampled_from(["*", "1", "12", "3-5", "*/3", "jan"]),
    "dow": st.sampled_from(["*", "0", "1-5", "7", "0,6", "*/2", "mon-fri", "sat", "1/2", "5-7"]),
}
cron_exprs = st.tuples(*cron_field.values()).map(" ".join)
repeatings = st.one_of(
    st.builds(Repeating, kind=st.just("daily"), **clock),
    st.builds(Repeating, kind=st.just("workdays"), **clock),
    st.builds(Repeating, kind=st.just("weekly"), weekday=st.integers(0, 6), **clock),
    st.builds(Repeating, kind=st.just("monthly"), day=st.integers(1, 31), **clock),
    st.builds(Repeating, kind=st.just("cron"), cron=cron_exprs),
)


@FAST
@given(moment=future_minutes, sep=st.sampled_from(["-", "/"]), rest=st.sampled_from(["", "开会"]))
def test_property_formatted_future_moment_round_trips(
    moment: datetime, sep: str, rest: str
) -> None:
    text = f"{moment:%Y}{sep}{moment:%m}{sep}{moment:%d} {moment:%H:%M} {rest}"
    schedule, left = parse_schedule(text, NOW)
    assert schedule == OneShot(moment)
    assert left == rest
    assert parse_moment(OneShot(moment).describe(), NOW) == (moment, "")


@FAST
@given(moment=future_minutes, seconds=st.integers(0, 59))
def test_property_one_shot_dump_load_round_trips(moment: datetime, seconds: int) -> None:
    schedule = OneShot(moment.replace(second=seconds))
    assert load_schedule(dump_schedule(schedule), TZ) == schedule


@FAST
@given(schedule=repeatings)
def test_property_repeating_dump_load_and_describe_round_trip(schedule: Repeating) -> None:
    assert load_schedule(dump_schedule(schedule), TZ) == schedule
    assert parse_schedule(schedule.describe(), NOW) == (schedule, "")
    assert parse_schedule(f"{schedule.describe()} 提醒 内容", NOW) == (schedule, "提醒 内容")
    fire = schedule.next_after(NOW)
    assert fire is not None
    assert fire > NOW
    assert fire.second == 0


@FAST
@given(text=st.text(), allow_repeat=st.booleans())
def test_property_arbitrary_text_returns_or_raises_time_parse_error(
    text: str, allow_repeat: bool
) -> None:
    try:
        schedule, rest = parse_schedule(text, NOW, allow_repeat=allow_repeat)
    except TimeParseError as error:
        assert str(error)
    else:
        assert isinstance(schedule, OneShot | Repeating)
        assert isinstance(rest, str)


fragments = st.sampled_from(
    [
        "今天", "明天", "后天", "每天", "工作日", "每周", "每周三", "每周八", "每月", "每月31日",
        "每月32号", "cron", "CRON", "*", "*/0", "1-5", "5-1", "mon", "0", "7", "8", "24", "99",
        "19:30", "25:00", "8：00", "00:00", "23:59", "2026-02-30", "2026-12-01", "9999-12-31",
        "0000-01-01", "12-01", "02-29", "13/45", "：", ":", "-", "/", "日", "号", " ", "　", "\n",
    ]
)  # fmt: skip


@FAST
@given(parts=st.lists(fragments, max_size=8), joiner=st.sampled_from(["", " "]))
def test_property_structured_noise_returns_or_raises_time_parse_error(
    parts: list[str], joiner: str
) -> None:
    text = joiner.join(parts)
    for allow_repeat in (True, False):
        try:
            schedule, _ = parse_schedule(text, NOW, allow_repeat=allow_repeat)
        except TimeParseError:
            continue
        if isinstance(schedule, OneShot):
            assert schedule.at > NOW
            assert schedule.at.tzinfo is TZ
        else:
            assert allow_repeat
            assert load_schedule(dump_schedule(schedule), TZ) == schedule


def test_times_beyond_the_horizon_are_refused_clearly() -> None:
    for text in ("9999-12-31 23:59 60", "2028-11-28 08:00", "2100-01-01 00:00"):
        with pytest.raises(TimeParseError, match="时间太远了"):
            parse_moment(text, NOW)
    assert parse_moment("2028-11-25 08:00", NOW)[0].year == 2028
    with pytest.raises(TimeParseError, match="30 天以内"):
        parse_schedule("12-31 08:00 x", NOW, horizon_days=30)
