"""Rotating check-in codes (TOTP, RFC 6238) and the rules of the screen page's token.

A session has a random secret; the code shown on site is TOTP(secret, time) with a period of
``checkin_code_period_seconds``. The current and the previous period are accepted (a slow
typist, clock skew); a code of an earlier period since the codes started being shown is
*expired* — answered as such and not counted as a wrong guess. Plain Python, no NoneBot.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from enum import Enum

import pyotp

# pyotp makes 6 to 10 digits. RFC 6238's truncation is ``binary % 10**digits``, and
# ``(binary % 10**10) % 10**d == binary % 10**d``: the last d digits of the 10-digit code are
# exactly the RFC code with d digits.
_FULL_DIGITS = 10
ACCEPTED_PERIODS = 2  # the current period and the one before
TOKEN_BYTES = 24  # 192 bits: the screen link cannot be guessed
_TOKEN_SHAPE = re.compile(r"[A-Za-z0-9_-]{16,64}")


class Verdict(Enum):
    VALID = "valid"
    EXPIRED = "expired"  # was shown earlier in this session: not counted as wrong
    WRONG = "wrong"


SCREEN_PATH = "/zhibu/screen"  # the screen page is SCREEN_PATH/<token>


@dataclass(frozen=True)
class CodeNow:
    code: str
    seconds_left: int | None  # until the next code; None: a fixed code (from before rotation)
    period: int | None


def new_secret() -> str:
    """A fresh TOTP secret (base32, 160 bits from the OS's secure source)."""
    return pyotp.random_base32(32)


def new_token() -> str:
    """A fresh screen-page token (URL-safe)."""
    return secrets.token_urlsafe(TOKEN_BYTES)


def token_shape_ok(token: str) -> bool:
    """Whether ``token`` could be a screen token at all (checked before any database read)."""
    return bool(_TOKEN_SHAPE.fullmatch(token))


class CheckinCodes:
    """TOTP codes of one period and length."""

    def __init__(self, period_seconds: int, digits: int) -> None:
        self.period = period_seconds
        self.digits = digits

    def _totp(self, secret: str) -> pyotp.TOTP:
        return pyotp.TOTP(secret, digits=_FULL_DIGITS, interval=self.period)

    def at(self, secret: str, timestamp: int) -> str:
        """The code shown at ``timestamp`` (Unix seconds)."""
        return self._totp(secret).at(timestamp)[-self.digits:]

    def now(self, secret: str, timestamp: int) -> CodeNow:
        return CodeNow(self.at(secret, timestamp), self.period - timestamp % self.period,
                       self.period)

    def judge(self, secret: str, code: str, timestamp: int, shown_since: int) -> Verdict:
        """VALID for the current or previous period's code; EXPIRED for a code of an earlier
        period back to ``shown_since`` (when the codes started to be shown); else WRONG."""
        totp = self._totp(secret)
        step = self.period
        start = timestamp - timestamp % step
        for back in range(ACCEPTED_PERIODS):
            if secrets.compare_digest(code, totp.at(start - back * step)[-self.digits:]):
                return Verdict.VALID
        moment = start - ACCEPTED_PERIODS * step
        first = shown_since - shown_since % step
        while moment >= first:
            if secrets.compare_digest(code, totp.at(moment)[-self.digits:]):
                return Verdict.EXPIRED
            moment -= step
        return Verdict.WRONG


class ScreenStatus(Enum):
    OPEN = "open"  # during the check-in window: topic, code, countdown, count
    WAITING = "waiting"  # a valid link before the window opens: nothing of the session yet
    CLOSED = "closed"  # after the window, or the session was cancelled
    INVALID = "invalid"  # no session has this token


def screen_status(token_found: bool, cancelled: bool, now: int, opens: int,
                  closes: int) -> ScreenStatus:
    """What the screen page may show now."""
    if not token_found:
        return ScreenStatus.INVALID
    if cancelled or now > closes:
        return ScreenStatus.CLOSED
    if now < opens:
        return ScreenStatus.WAITING
    return ScreenStatus.OPEN
