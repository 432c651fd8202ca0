"""Settings of 支部助手, read from NoneBot's config (``.env`` files and environment variables)."""

from __future__ import annotations

from pydantic import BaseModel, Field, field_validator

IDENTITIES: tuple[str, ...] = ("群众", "入党积极分子", "发展对象", "预备党员", "正式党员")


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

    # reminders and sending
    misfire_grace_minutes: int = Field(10, ge=0, le=1440)
    send_interval_seconds: float = Field(1.5, ge=0)
    send_rate_per_minute: int = Field(20, ge=1)
    send_max_retries: int = Field(5, ge=0, le=20)
    send_retry_base_seconds: float = Field(2.0, ge=0)

    # text limits
    name_max_length: int = Field(20, ge=2, le=50)
    note_max_length: int = Field(2000, ge=10)
    reason_max_length: int = Field(100, ge=10)
    announce_max_length: int = Field(1000, ge=10)
    reply_max_chars: int = Field(1500, ge=200)
    page_size: int = Field(10, ge=1, le=50)

    @field_validator("wish_claim_identities")
    @classmethod
    def _known_identities(cls, value: list[str]) -> list[str]:
        unknown = [v for v in value if v not in IDENTITIES]
        if unknown:
            raise ValueError(f"unknown identities {unknown}; known: {IDENTITIES}")
        return value
