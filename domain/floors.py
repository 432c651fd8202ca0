"""Floors and dorms as a structure: one spelling per floor, so each floor is one row.

``4``, ``4楼``, ``四楼``, ``4F``, ``4层``, ``第4层``, ``４楼`` all become ``4楼`` (floors 1–99);
anything else (``东区``) is kept as typed, without spaces. Dorm numbers lose spaces and a
trailing 室/宿舍/寝室/号, full-width digits become ASCII and letters upper case (``a301室`` →
``A301``). Migration 0010 applies the same rules to the rows already stored (a test checks
that both agree).
"""

from __future__ import annotations

import re
import unicodedata

MAX_FLOOR = 99
_CN_DIGITS = "零一二三四五六七八九"
_FLOOR = re.compile(r"^第?([0-9]{1,3}|[一二三四五六七八九十]{1,3})(楼|层|F)?$")
_DORM_SUFFIX = re.compile(r"(室|宿舍|寝室|号)$")
_SPACE = re.compile(r"\s+")


def chinese_number(text: str) -> int | None:
    """一 … 九十九 as an int; None for anything else."""
    if not text or any(c not in _CN_DIGITS + "十" for c in text) or "零" in text:
        return None
    if "十" not in text:
        return _CN_DIGITS.index(text) if len(text) == 1 else None
    tens, _, ones = text.partition("十")
    if "十" in ones or len(tens) > 1 or len(ones) > 1:
        return None
    return (_CN_DIGITS.index(tens) if tens else 1) * 10 + (_CN_DIGITS.index(ones) if ones else 0)


def floor_number(floor: str | None) -> int | None:
    """The number of a normalised floor (``4楼`` → 4); None for other names."""
    if floor and floor.endswith("楼") and floor[:-1].isascii() and floor[:-1].isdigit():
        return int(floor[:-1])
    return None


def normalize_floor(raw: str | None) -> str | None:
    """One spelling per floor: ``4``/``4楼``/``四楼``/``4F``/``4层`` → ``4楼``; None if empty."""
    if raw is None:
        return None
    text = _SPACE.sub("", unicodedata.normalize("NFKC", raw)).replace("f", "F")
    if not text:
        return None
    match = _FLOOR.match(text)
    if match:
        number = match.group(1)
        value = int(number) if number.isdigit() else chinese_number(number)
        if value is not None and 1 <= value <= MAX_FLOOR:
            return f"{value}楼"
    return _SPACE.sub("", raw.strip()) or None


def normalize_dorm(raw: str | None) -> str | None:
    """A dorm number without spaces or a trailing 室/宿舍/寝室/号; None if empty."""
    if raw is None:
        return None
    text = _SPACE.sub("", unicodedata.normalize("NFKC", raw)).upper()
    text = _DORM_SUFFIX.sub("", text) or text
    return text or None


def floor_key(floor: str | None) -> tuple:
    """Sort key: numbered floors in number order, then other names, then no floor."""
    number = floor_number(floor)
    if number is not None:
        return (0, number, "")
    return (1, 0, floor) if floor else (2, 0, "")


_DORM_NUMBER = re.compile(r"^([A-Z]*)([0-9]{1,6})$")
_RANGE_DASH = re.compile(r"\s*[-–—~～至到]\s*")


def dorm_parts(dorm: str | None) -> tuple[str, int] | None:
    """``A301`` → ("A", 301): a dorm as letters then a number; None for other names."""
    match = _DORM_NUMBER.match(normalize_dorm(dorm) or "")
    return (match.group(1), int(match.group(2))) if match else None


def parse_dorm_range(text: str | None) -> tuple[str, str] | None:
    """``301-310`` / ``301–310`` / ``301至310`` / ``305`` → (first, last) as normalised dorms;
    None for no text. Both ends need the same letters; the first may not exceed the last."""
    if text is None or not text.strip():
        return None
    ends = _RANGE_DASH.split(unicodedata.normalize("NFKC", text).strip())
    if len(ends) == 1:
        ends = [ends[0], ends[0]]
    if len(ends) != 2:
        raise ValueError(text)
    low, high = dorm_parts(ends[0]), dorm_parts(ends[1])
    if low is None or high is None or low[0] != high[0] or low[1] > high[1]:
        raise ValueError(text)
    return normalize_dorm(ends[0]), normalize_dorm(ends[1])


def dorm_in_range(dorm: str | None, first: str | None, last: str | None) -> bool:
    """Whether ``dorm`` is in ``first``–``last`` (both None: every dorm, even none)."""
    if first is None or last is None:
        return True
    parts, low, high = dorm_parts(dorm), dorm_parts(first), dorm_parts(last)
    if parts is None or low is None or high is None:
        return False
    return parts[0] == low[0] and low[1] <= parts[1] <= high[1]
