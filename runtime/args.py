"""Turn a command's argument message into tokens: words and @-mentions, never CQ codes."""

from __future__ import annotations

import re
from dataclasses import dataclass

from nonebot.adapters.onebot.v11 import Message

from domain.text import EMPTY_WORD

_QQ = re.compile(r"^@?(\d{5,12})$")
_ID = re.compile(r"^[#＃]?(\d{1,9})$")
_INT = re.compile(r"^[+\-]?\d{1,9}$")


@dataclass(frozen=True)
class Mention:
    user_id: int


Token = str | Mention


def tokenize(message: Message) -> list[Token]:
    """Words split on white space, with each @-mention as one ``Mention`` token; a word that
    had nothing visible in it is an empty string (it still counts)."""
    tokens: list[Token] = []
    for seg in message:
        if seg.type == "at":
            qq = str(seg.data.get("qq", ""))
            # @全体成员 (qq=all) is kept as a word, so it is never taken for a person
            tokens.append(Mention(int(qq)) if qq.isdigit() else f"@{qq}")
        elif seg.type == "text":
            tokens.extend("" if w == EMPTY_WORD else w for w in seg.data.get("text", "").split())
    return tokens


def plain_text(message: Message) -> str:
    """The text of a message with @-mentions written as ``@QQ`` (images dropped), stripped."""
    return _text_of(message).replace(EMPTY_WORD, "").strip()


def rest_text(message: Message, skip_words: int) -> str:
    """The text after the first ``skip_words`` words (an emptied word counts), keeping its
    inner spacing."""
    text = _text_of(message)
    for _ in range(skip_words):
        parts = text.split(maxsplit=1)
        text = parts[1] if len(parts) > 1 else ""
    return text.replace(EMPTY_WORD, "").strip()


def _text_of(message: Message) -> str:
    parts = []
    for seg in message:
        if seg.type == "text":
            parts.append(seg.data.get("text", ""))
        elif seg.type == "at":
            parts.append(f"@{seg.data.get('qq', '')} ")
    return "".join(parts).strip()


def text_after_command(text: str, starts: tuple[str, ...], names: tuple[str, ...]) -> str:
    """What follows ``/name`` in ``text`` (for handlers that skip NoneBot's CommandArg)."""
    text = text.strip()
    for start in starts:
        for name in sorted(names, key=len, reverse=True):
            if text.startswith(start + name):
                return text[len(start + name):].strip()
    return ""


def person(token: Token | None) -> int | None:
    """A QQ number from an @-mention, ``12345`` or ``@12345``."""
    if isinstance(token, Mention):
        return token.user_id
    if isinstance(token, str) and (m := _QQ.match(token)):
        return int(m.group(1))
    return None


def not_a_qq(token: Token | None) -> str | None:
    """Why a written number is not a QQ number (for ``Usage(detail)``); None otherwise."""
    if isinstance(token, str) and token.lstrip("@").isdigit() and person(token) is None:
        return f"「{token[:20]}」不是 QQ 号：QQ 号是 5 到 12 位数字，也可以直接 @ 这个人。"
    return None


def record_id(token: Token | None) -> int | None:
    """A record number written ``12`` or ``#12``."""
    if isinstance(token, str) and (m := _ID.match(token)):
        value = int(m.group(1))
        return value if value > 0 else None
    return None


def integer(token: Token | None) -> int | None:
    if isinstance(token, str) and _INT.match(token):
        return int(token)
    return None


def word(tokens: list[Token], index: int) -> str | None:
    """The plain word at ``index``, or None (missing or a mention)."""
    if index < len(tokens) and isinstance(tokens[index], str):
        return tokens[index]  # type: ignore[return-value]
    return None


_LEADING_BRANCH = re.compile(r"^\s*支部\s*[#＃]\s*([0-9０-９]{1,9})(?=\s|$)")
_TRAILING_BRANCH = re.compile(r"(?:^|\s)支部\s*[#＃]\s*([0-9０-９]{1,9})\s*$")


def branch_word(message: Message) -> tuple[int | None, Message]:
    """A ``支部#2`` written at the end (or the start) of a private command's argument: the
    branch number, and the argument without it."""
    segments = list(message)
    for index, pattern in ((len(segments) - 1, _TRAILING_BRANCH), (0, _LEADING_BRANCH)):
        if not segments or segments[index].type != "text":
            continue
        text = segments[index].data.get("text", "")
        found = pattern.search(text)
        if found is None:
            continue
        rest = (text[:found.start()] + text[found.end():]).strip()
        kept = [s for i, s in enumerate(segments) if i != index]
        if rest:
            kept.insert(index, type(segments[index]).text(rest))
        return int(found.group(1)), Message(kept)
    return None, message
