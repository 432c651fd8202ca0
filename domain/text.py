"""Small text rules shared by the domain services."""

from __future__ import annotations

import re
import unicodedata

from domain.errors import DomainError

# Invisible characters that change how text displays (bidi overrides can make "#12 已完成" read
# as something else) or hide that a text is empty. ZWJ (U+200D) stays: emoji sequences use it.
_INVISIBLE = frozenset(
    "\u200b\u200c\u200e\u200f\u2060\ufeff\u180e\u061c"
    "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
)
_KEEP_CONTROLS = frozenset("\n\t")
# Stands for a word that had nothing visible in it (``clean_words``). A Unicode noncharacter
# (for a program's internal use, never text); ``clean_text`` removes any a person types.
EMPTY_WORD = "\ufdd0"
_NONCHARACTERS = range(0xFDD0, 0xFDF0)
_WORDS = re.compile(r"(\S+)")


def clean_text(text: str) -> str:
    """User text as stored and shown: NFC; control characters, bidi controls, zero-width
    characters and lone surrogates removed; a text of nothing visible becomes empty."""
    if text.isascii() and text.isprintable():
        return text  # the common case, no work
    kept = "".join(
        c for c in text
        if c not in _INVISIBLE and not 0xD800 <= ord(c) <= 0xDFFF
        and ord(c) not in _NONCHARACTERS
        and (c in _KEEP_CONTROLS or unicodedata.category(c) != "Cc")
    )
    kept = unicodedata.normalize("NFC", kept)
    if not any(not c.isspace() and c != "\u200d" for c in kept):
        return ""
    return kept


def shorten(content: str, size: int = 30) -> str:
    """At most ``size`` characters, the last one … when cut."""
    return content if len(content) <= size else content[: size - 1] + "…"


def fold(text: str) -> str:
    """Text as words are compared (skill tags in a wish): NFKC, case folded, no spaces."""
    return "".join(unicodedata.normalize("NFKC", text).casefold().split())


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


def clean_words(text: str) -> str:
    """``clean_text`` word by word, keeping the spacing: a word with nothing visible left
    becomes ``EMPTY_WORD``, so it still counts as an argument (``/登记 <零宽字符> 3楼`` gives
    an empty name and the floor 3楼, never the name "3楼")."""
    if text.isascii() and text.isprintable():
        return text
    parts = _WORDS.split(text)  # spacing at the even places, the words at the odd ones
    for i, part in enumerate(parts):
        if i % 2:
            parts[i] = clean_text(part) or EMPTY_WORD
        else:  # control characters that count as spacing (\x1c…) become plain spaces
            parts[i] = "".join(c if c in _KEEP_CONTROLS or unicodedata.category(c) != "Cc"
                               else " " for c in part)
    return "".join(parts)


def term_name_for(year: int, month: int) -> str:
    """Default academic term name for a date: Aug–Jan first term, Feb–Jul second."""
    if month >= 8:
        return f"{year}-{year + 1}学年第一学期"
    if month == 1:
        return f"{year - 1}-{year}学年第一学期"
    return f"{year - 1}-{year}学年第二学期"


def paginate(lines: list[str], limit: int) -> list[str]:
    """Join lines into chunks of at most ``limit`` characters."""
    chunks: list[str] = []
    current = ""
    for line in lines:
        while len(line) > limit:
            if current:
                chunks.append(current)
                current = ""
            chunks.append(line[:limit])
            line = line[limit:]
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) > limit:
            chunks.append(current)
            current = line
        else:
            current = candidate
    if current:
        chunks.append(current)
    return chunks
