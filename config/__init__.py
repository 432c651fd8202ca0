"""Settings of 支部助手, read from NoneBot's config (``.env`` files and environment variables)."""

from __future__ import annotations

import json
from typing import Literal

from pydantic import BaseModel, Field, field_validator, model_validator

IDENTITIES: tuple[str, ...] = ("群众", "入党积极分子", "发展对象", "预备党员", "正式党员")


class ActivityKind(BaseModel):
    """Settings of one kind of activity (导学, 微分享, 支部党员大会…)."""

    creators: Literal["admin", "eligible"] = "admin"  # who may create one
    signup: bool = False  # sign-up with capacity and waitlist
    # who is expected to attend: everyone with a profile, eligible identities, party members
    # (正式+预备), the 支委 only, or those who signed up
    expected: Literal["all", "eligible", "members", "committee", "signed_up"] = "members"
    points: int = Field(2, ge=0, le=100)  # 出勤 points for attending
    frequency: Literal["month", "quarter"] | None = None  # 三会一课: required at least this often
    remind_before: int = Field(30, ge=0, le=1440)  # minutes before start the groups are told
    scored: bool = False  # 微党课: speakers (/活动 讲者) scored 1-5 by those who checked in


def _default_kinds() -> dict[str, ActivityKind]:
    return {
        "导学": ActivityKind(creators="eligible", expected="eligible", points=2),
        "微分享": ActivityKind(creators="eligible", signup=True, expected="signed_up", points=2),
        "主题党日": ActivityKind(expected="members", points=2),
        "志愿服务": ActivityKind(creators="eligible", signup=True, expected="signed_up", points=3),
        "支部党员大会": ActivityKind(expected="members", frequency="quarter", points=2),
        "支委会": ActivityKind(expected="committee", frequency="month", points=2),
        "党小组会": ActivityKind(expected="members", frequency="month", points=2),
        "党课": ActivityKind(expected="members", frequency="quarter", points=2),
        "微党课": ActivityKind(expected="all", points=2, scored=True),
    }


class BranchConfig(BaseModel):
    """Every tunable of the spec, with its default. Field names are the env variable names."""

    branch_db_path: str = "data/zhibu.db"
    branch_timezone: str = "Asia/Shanghai"

    # wishes
    wish_max_length: int = Field(200, ge=10, le=2000)
    wish_max_claims: int = Field(3, ge=1, le=50)
    wish_claim_identities: list[str] = Field(
        default_factory=lambda: ["入党积极分子", "发展对象", "预备党员", "正式党员"]
    )
    wish_rating_days: int = Field(7, ge=1, le=90)
    wish_auto_complete_interval_minutes: int = Field(30, ge=1, le=1440)
    wish_digest_hours: int = Field(24, ge=1, le=720)
    wish_digest_time: str = "12:00"

    # points (微积分)
    points_checkin: int = 2
    points_note: int = 3
    points_wish_done: int = 5
    points_rating5_bonus: int = 2
    points_adjust_max: int = Field(50, ge=1)
    points_standard: int = Field(20, ge=0)
    interaction_daily_cap: int = Field(6, ge=0)
    rank_size: int = Field(10, ge=1, le=50)
    pair_default_size: int = Field(5, ge=1, le=50)
    commend_enabled: bool = True
    commend_time: str = "每周日 20:00"
    commend_size: int = Field(3, ge=1, le=20)

    # sessions (导学)
    checkin_open_before: int = Field(30, ge=0, le=1440)
    checkin_close_after: int = Field(30, ge=0, le=1440)
    checkin_max_wrong: int = Field(5, ge=1, le=50)
    session_default_minutes: int = Field(90, ge=10, le=1440)
    session_max_minutes: int = Field(480, ge=10, le=1440)
    session_remind_before: int = Field(30, ge=0, le=1440)
    session_leader_remind_time: str = "20:00"
    note_window_days: int = Field(7, ge=1, le=90)
    note_min_length: int = Field(30, ge=1, le=2000)

    # check-in codes and the screen page (签到码、投屏页)
    checkin_code_period_seconds: int = Field(60, ge=5, le=120)  # a code lives this long
    checkin_code_digits: int = Field(4, ge=4, le=8)
    bot_public_url: str = ""  # how links to the bot's pages are written; "": http://HOST:PORT

    # pictures and the secretary's page (图片、网页)
    picture_font: str = ""  # a font file with Chinese glyphs; "": found on the system
    dashboard_link_hours: float = Field(24.0, gt=0, le=720)  # how long a /统计 网页 link works

    # problems (民情)
    problem_categories: list[str] = Field(
        default_factory=lambda: ["报修", "学业", "生活", "心理", "其他"]
    )
    problem_max_length: int = Field(500, ge=10, le=5000)
    problem_confirm_days: int = Field(3, ge=1, le=90)
    problem_auto_confirm_interval_minutes: int = Field(30, ge=1, le=1440)
    # targets in hours per category; "默认" applies to categories not named
    problem_first_response_hours: dict[str, float] = Field(
        default_factory=lambda: {"报修": 12.0, "默认": 24.0}
    )
    problem_resolution_hours: dict[str, float] = Field(default_factory=lambda: {"默认": 72.0})
    problem_weekly_enabled: bool = True
    problem_weekly_time: str = "每周一 09:00"
    problem_overdue_remind_time: str = "09:30"
    points_problem_solved: int = 3

    # service (服务): posts, the task list, the service standard, wishes matched to members
    service_standard: int = Field(3, ge=0, le=1000)  # weighted service in a term that is 达标
    service_weight_task: int = Field(1, ge=0, le=100)  # per confirmed task
    service_weight_wish: int = Field(1, ge=0, le=100)  # per wish completed as its helper
    service_weight_problem: int = Field(1, ge=0, le=100)  # per 民情 problem handled to 已办结
    points_task: int = Field(3, ge=0)  # 服务 points of a task published without a number
    task_remind_hours: int = Field(24, ge=1, le=720)  # unfinished assignees reminded this early
    task_weekly_enabled: bool = True
    task_weekly_time: str = "每周一 09:00"  # the weekly task list (open and overdue tasks)
    match_notify: int = Field(3, ge=0, le=20)  # members told privately of a wish that suits them
    skill_max_tags: int = Field(10, ge=1, le=50)  # tags one member may declare

    # activities (活动): kinds with their settings; 导学 is one of them
    activity_kinds: dict[str, ActivityKind] = Field(default_factory=_default_kinds)
    activity_capacity_max: int = Field(2000, ge=1, le=100000)
    activity_behind_check_time: str = "每月20日 09:00"  # when admins hear of unmet 三会一课

    # 微党课: speakers of an activity scored by its audience
    score_close_hours: int = Field(24, ge=0, le=720)  # scoring closes this long after the end
    points_lecture: int = Field(3, ge=0, le=100)  # 互动 points for each speaker
    points_lecture_top: int = Field(2, ge=0, le=100)  # extra 互动 points for the top 3
    lecture_max_speakers: int = Field(10, ge=1, le=50)
    title_max_length: int = Field(50, ge=5, le=200)  # a talk's or a case's title

    # 微典型: the term's exemplars
    exemplar_fields: list[str] = Field(
        default_factory=lambda: ["思想引领", "学业", "服务", "实践", "文体"]
    )
    exemplar_story_max_length: int = Field(300, ge=10, le=2000)  # a nomination's 事迹
    exemplar_case_max_length: int = Field(2000, ge=10, le=20000)  # a case's text
    points_exemplar: int = Field(10, ge=0, le=100)  # 荣誉 points for each exemplar at 公示

    # polls and surveys (投票与问卷)
    poll_max_options: int = Field(10, ge=2, le=20)
    poll_question_max_length: int = Field(100, ge=10, le=500)
    poll_option_max_length: int = Field(50, ge=5, le=200)
    poll_bar_width: int = Field(10, ge=4, le=30)  # characters of a result bar
    # anonymous ballots and survey responses are committed at least this many at a time
    anonymous_batch: int = Field(5, ge=1, le=100)
    survey_max_questions: int = Field(15, ge=1, le=50)
    survey_text_max_length: int = Field(100, ge=10, le=500)  # a title, a question
    survey_answer_max_length: int = Field(200, ge=10, le=2000)  # a short-text answer
    survey_answer_timeout_minutes: int = Field(10, ge=1, le=240)

    # reminders and sending
    misfire_grace_minutes: int = Field(10, ge=0, le=1440)
    send_interval_seconds: float = Field(1.5, ge=0)
    send_rate_per_minute: int = Field(20, ge=1)
    reply_interval_seconds: float = Field(1.5, ge=0)  # a group's replies: one per this long
    send_max_retries: int = Field(5, ge=0, le=20)
    send_retry_base_seconds: float = Field(2.0, ge=0)
    reminder_max_per_branch: int = Field(50, ge=1, le=10000)
    reminder_min_interval_minutes: int = Field(60, ge=1, le=1440)
    outbox_backlog_warn: int = Field(100, ge=1)

    # QQ sides and accounts (README, "QQ sides")
    # friend requests: accept members of a branch (or people in its groups), everyone, or none
    friend_auto_accept: Literal["members", "everyone", "off"] = "members"
    friend_check_groups: int = Field(20, ge=0, le=1000)  # groups asked about a stranger, at most
    risk_failures: int = Field(3, ge=1, le=100)  # failures in a row on one account: pause it
    risk_pause_seconds: float = Field(300, ge=1, le=86400)  # first pause; doubles each time
    risk_pause_max_seconds: float = Field(21600, ge=1, le=604800)
    mute_pause_seconds: float = Field(3600, ge=1, le=604800)  # muted with no length told
    failover_seconds: float = Field(30, ge=1, le=600)  # a send unanswered this long: try again
    account_alert_minutes: float = Field(5, ge=0, le=1440)  # superusers told of a drop after
    onebot_shares_filesystem: bool = False  # the QQ side reads files from the bot's disk
    outbox_keep_days: int = Field(30, ge=1, le=3650)

    # the OneBot connection (runtime/adapter.py): what the QQ side may send, and how
    onebot_http_post: bool = False  # also take events by HTTP POST (needs ONEBOT_SECRET)
    event_max_segments: int = Field(300, ge=10, le=100_000)  # segments of one incoming message
    event_max_chars: int = Field(50_000, ge=1000, le=10_000_000)  # its characters, all segments
    event_workers: int = Field(256, ge=1, le=10_000)  # events handled at once per connection
    event_queue_max: int = Field(20_000, ge=100, le=1_000_000)  # events waiting their turn

    # guards on every command (duplicates, floods, roles, input)
    duplicate_window_seconds: float = Field(120, ge=1, le=3600)
    flood_burst: int = Field(20, ge=1, le=1000)
    flood_refill_seconds: float = Field(1.0, ge=0, le=600)
    daily_create_limit: int = Field(30, ge=1, le=10000)
    role_cache_seconds: float = Field(300, ge=0, le=86400)
    time_horizon_days: int = Field(730, ge=1, le=3650)

    # text limits
    name_max_length: int = Field(20, ge=2, le=50)
    note_max_length: int = Field(2000, ge=10)
    reason_max_length: int = Field(100, ge=10)
    announce_max_length: int = Field(1000, ge=10)
    reply_max_chars: int = Field(1500, ge=200)
    page_size: int = Field(10, ge=1, le=50)

    # playground, roster import, backups (运维)
    playground_mode: bool = False  # only `python -m tools.playground` sets it: a movable clock
    # the bot's clock runs this many seconds ahead of the wall clock; 0 in production. Tests
    # use it to run the real bot on another date (README, "Tests on any date")
    clock_offset_seconds: float = Field(0, ge=0, le=20 * 365 * 86400)
    roster_confirm_minutes: int = Field(30, ge=1, le=1440)  # a previewed group import waits this
    roster_max_kb: int = Field(2048, ge=16, le=51200)  # largest roster file fetched from QQ
    roster_max_rows: int = Field(5000, ge=10, le=100_000)  # rows of a roster file, at most
    roster_parse_seconds: float = Field(20, ge=1, le=600)  # a roster is read in a worker
    roster_parse_memory_mb: int = Field(512, ge=256, le=16_384)  # process with these limits
    backup_time: str = "03:30"  # daily online backup
    backup_dir: str = "data/backups"
    backup_keep: int = Field(14, ge=1, le=3650)  # newest backups kept in backup_dir
    log_dir: str = ""  # the log file's folder; "": a folder logs beside the database
    log_max_mb: int = Field(10, ge=1, le=10_240)  # the log file is rotated at this size
    log_keep_days: int = Field(14, ge=1, le=3650)  # rotated log files are deleted after this

    # the members' guide and what an operator watches (docs/部署与运维.md, "监控")
    docs_url: str = ""  # /帮助 ends with this link to the members' guide; "": no link
    health_offline_minutes: float = Field(10, ge=0, le=10_080)  # no QQ account this long: 503
    health_db_check_minutes: float = Field(10, ge=0, le=1440)  # quick_check again after this
    metrics_token: str = ""  # /zhibu/metrics: "" = loopback only; else Authorization: Bearer

    @field_validator("activity_kinds")
    @classmethod
    def _has_session_kind(cls, value: dict[str, ActivityKind]) -> dict[str, ActivityKind]:
        if "导学" not in value:
            raise ValueError("activity_kinds must include 导学")
        return value

    @field_validator("exemplar_fields")
    @classmethod
    def _exemplar_fields(cls, value: list[str]) -> list[str]:
        cleaned = [v.strip() for v in value]
        if not cleaned or len(set(cleaned)) != len(cleaned) or any(
                not v or any(c.isspace() for c in v) or len(v) > 10 for v in cleaned):
            raise ValueError("exemplar_fields must be distinct words of 1-10 characters "
                             "without spaces")
        return cleaned

    @field_validator("wish_claim_identities")
    @classmethod
    def _known_identities(cls, value: list[str]) -> list[str]:
        unknown = [v for v in value if v not in IDENTITIES]
        if unknown:
            raise ValueError(f"unknown identities {unknown}; known: {IDENTITIES}")
        return value

    @field_validator("problem_categories")
    @classmethod
    def _problem_categories(cls, value: list[str]) -> list[str]:
        cleaned = [v.strip() for v in value if v.strip()]
        if "其他" not in cleaned or len(set(cleaned)) != len(cleaned):
            raise ValueError("problem_categories must be distinct and include 其他")
        return cleaned

    @field_validator("problem_first_response_hours", "problem_resolution_hours", mode="before")
    @classmethod
    def _hours_by_category(cls, value):
        """Accept a JSON object (as read from .env) or one number for every category."""
        if isinstance(value, str):
            value = json.loads(value)
        if isinstance(value, (int, float)):
            value = {"默认": value}
        return value

    @model_validator(mode="after")
    def _problem_targets(self) -> BranchConfig:
        known = {*self.problem_categories, "默认"}
        for name in ("problem_first_response_hours", "problem_resolution_hours"):
            targets = getattr(self, name)
            unknown = set(targets) - known
            if unknown:
                raise ValueError(f"{name}: unknown categories {sorted(unknown)}")
            if "默认" not in targets or any(h <= 0 for h in targets.values()):
                raise ValueError(f"{name} needs a positive 默认 and positive hours")
        return self


def load_settings() -> BranchConfig:
    """The settings exactly as the running bot reads them, for the command-line tools:
    NoneBot's sources (``.env``, ``.env.<ENVIRONMENT>``, environment variables), read from the
    current folder like ``python bot.py`` does."""
    from nonebot.compat import model_dump
    from nonebot.config import BaseSettings, Config, Env

    env = Env()
    config = Config(_env_file=(".env", f".env.{env.environment}"))
    return BranchConfig.model_validate(BaseSettings._settings_build_values(
        BranchConfig, model_dump(config), env_file=config._env_file,
        env_file_encoding=config._env_file_encoding,
        env_nested_delimiter=config._env_nested_delimiter,
    ))
