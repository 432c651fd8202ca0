"""Sentences that more than one feature shows, worded once."""

from __future__ import annotations

from config import IDENTITIES, BranchConfig


def eligible_word(settings: BranchConfig) -> str:
    """How a student reads ``wish_claim_identities``: 入党积极分子及以上 for the default."""
    wanted = list(settings.wish_claim_identities)
    if wanted and wanted == list(IDENTITIES[IDENTITIES.index(wanted[0]):]):
        return f"{wanted[0]}及以上"
    return "、".join(wanted) or "（无）"


def attendance_words(settings: BranchConfig, arrived: int, expected: int, present: int,
                     rate: str) -> str:
    """``签到 9 人。应到（入党积极分子及以上）6 人，到了 5 人，出勤率 83%；另有 4 人不在应到名单``:
    everyone who checked in, then the expected members and how many of them came."""
    text = (f"签到 {arrived} 人。应到（{eligible_word(settings)}）{expected} 人，"
            f"到了 {present} 人，出勤率 {rate}")
    if arrived > present:
        text += f"；另有 {arrived - present} 人不在应到名单"
    return text
