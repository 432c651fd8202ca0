"""Small text rules shared by the domain services."""

from __future__ import annotations

from domain.errors import DomainError


def require_text(text: str | None, limit: int, what: str, *, min_length: int = 1) -> str:
    """Strip ``text`` and refuse it when empty, shorter than ``min_length`` or over ``limit``."""
    cleaned = (text or "").strip()
    if len(cleaned) < min_length:
        if min_length <= 1:
            raise DomainError(f"{what}不能为空。")
        raise DomainError(f"{what}至少 {min_length} 字，现在 {len(cleaned)} 字。")
    if len(cleaned) > limit:
        raise DomainError(f"{what}最多 {limit} 字，现在 {len(cleaned)} 字。")
    return cleaned


def optional_text(text: str | None, limit: int, what: str) -> str | None:
    cleaned = (text or "").strip()
    return require_text(cleaned, limit, what) if cleaned else None


def term_name_for(year: int, month: int) -> str:
    """Default academic term name for a date: Aug–Jan first term, Feb–Jul second."""
    if month >= 8:
        return f"{year}-{year + 1}学年第一学期"
    if month == 1:
        return f"{year - 1}-{year}学年第一学期"
    return f"{year - 1}-{year}学年第二学期"
