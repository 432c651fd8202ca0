"""Checks every command passes before any work: duplicate events, floods, cached QQ roles.

Plain Python with the time passed in, so tests drive it with a frozen clock. All state is in
memory and bounded: entries expire and the maps are capped at ``MAX_REMEMBERED`` people or
events, each entry a few hundred bytes whatever people type (the keys of events acted on are
digests, also kept in the database by the router and loaded back here at start-up).
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import Enum

MAX_REMEMBERED = 50_000


class _ExpiringSet:
    """Keys remembered for ``ttl`` seconds, at most ``cap`` of them (oldest forgotten first)."""

    def __init__(self, ttl: float, cap: int = MAX_REMEMBERED) -> None:
        self.ttl = ttl
        self.cap = cap
        self._until: OrderedDict[object, float] = OrderedDict()

    def add_if_new(self, key: object, now: float) -> bool:
        """Remember ``key``; False if it was already remembered."""
        while self._until and (next(iter(self._until.values())) <= now
                               or len(self._until) >= self.cap):
            self._until.popitem(last=False)
        if key in self._until:
            return False
        self._until[key] = now + self.ttl
        return True

    def remember(self, key: object, until: float) -> None:
        """Remember ``key`` until ``until`` (keys must come in the order they expire)."""
        if len(self._until) >= self.cap:
            self._until.popitem(last=False)
        self._until[key] = until


def event_key(*, group_id: int | None, user_id: int, event_time: int, content: str,
              self_id: int, message_id: int) -> bytes:
    """The identity of an incoming message, as a 16-byte hash.

    A group message: (group, sender, event time, content), whichever account delivered it, so
    a message seen by two of the bot's accounts (different self_id and message_id) is one
    event. A private message: (account, sender, event time, message id) — the text is left
    out, so a stored key cannot be tested against guesses of what someone sent privately.
    """
    if group_id is not None:
        ident = f"g\x1f{group_id}\x1f{user_id}\x1f{event_time}\x1f{content}"
    else:
        ident = f"p\x1f{self_id}\x1f{user_id}\x1f{event_time}\x1f{message_id}"
    return hashlib.blake2b(ident.encode("utf-8", "surrogatepass"), digest_size=16).digest()


class SeenEvents:
    """Recognises an event delivered again (by its ``event_key``) within ``window_seconds``.

    The check is in memory; the keys of events acted on are also written to the database
    with the command's first write and loaded back at start-up (``load``), so a re-delivery
    after a restart is recognised too.
    """

    def __init__(self, window_seconds: float) -> None:
        self.window = window_seconds
        self._keys = _ExpiringSet(window_seconds)

    def first_time(self, key: bytes, now: float) -> bool:
        """Remember ``key``; False if it was seen within the window."""
        return self._keys.add_if_new(key, now)

    def load(self, keys: Iterable[tuple[bytes, float]], now: float) -> int:
        """Remember keys read back from the database (key, when acted on) that are still
        within the window; returns how many."""
        loaded = 0
        for key, at in sorted(keys, key=lambda pair: pair[1]):
            if at + self.window > now:
                self._keys.remember(key, at + self.window)
                loaded += 1
        return loaded


class Verdict(Enum):
    RUN = "run"
    WARN = "warn"  # over the limit: answer once that it is too fast
    SILENT = "silent"  # still over the limit after the warning: ignore


@dataclass
class _Bucket:
    tokens: float
    at: float
    warned: bool = False


@dataclass
class FloodGuard:
    """A token bucket per person: ``burst`` commands at once, then one per ``refill_seconds``.

    Past the limit a person gets one warning and then silence until the bucket is full again.
    """

    burst: int
    refill_seconds: float
    _buckets: OrderedDict[int, _Bucket] = field(default_factory=OrderedDict)

    def admit(self, user_id: int, now: float) -> Verdict:
        bucket = self._buckets.get(user_id)
        if bucket is None:
            if len(self._buckets) >= MAX_REMEMBERED:
                self._buckets.popitem(last=False)
            bucket = self._buckets[user_id] = _Bucket(float(self.burst), now)
        else:
            self._buckets.move_to_end(user_id)
            refill = (now - bucket.at) / self.refill_seconds if self.refill_seconds > 0 else 1e9
            bucket.tokens = min(float(self.burst), bucket.tokens + refill)
            bucket.at = now
        if bucket.warned:
            if bucket.tokens < self.burst:
                return Verdict.SILENT
            bucket.warned = False
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            return Verdict.RUN
        bucket.warned = True
        return Verdict.WARN


@dataclass
class DailyQuota:
    """How many records a person may create in one local day (wishes, reminders, problems…)."""

    limit: int
    _counts: dict[tuple[int, str], int] = field(default_factory=dict)
    _day: str = ""

    def take(self, user_id: int, day: str) -> bool:
        if day != self._day:
            self._counts.clear()
            self._day = day
        used = self._counts.get((user_id, day), 0)
        if used >= self.limit:
            return False
        if not used and len(self._counts) >= MAX_REMEMBERED:
            return True  # more creators in a day than remembered: not counted, never refused
        self._counts[(user_id, day)] = used + 1
        return True

    def give_back(self, user_id: int, day: str) -> None:
        """The command that took one was refused: it created nothing."""
        used = self._counts.get((user_id, day), 0)
        if used and day == self._day:
            self._counts[(user_id, day)] = used - 1


@dataclass
class RoleCache:
    """QQ group roles fetched from the QQ side, kept ``ttl`` seconds."""

    ttl: float
    _roles: OrderedDict[tuple[int, int], tuple[str, float]] = field(default_factory=OrderedDict)

    def get(self, group_id: int, user_id: int, now: float) -> str | None:
        found = self._roles.get((group_id, user_id))
        if found is None or found[1] <= now:
            return None
        return found[0]

    def put(self, group_id: int, user_id: int, role: str, now: float) -> None:
        if len(self._roles) >= MAX_REMEMBERED:
            self._roles.popitem(last=False)
        self._roles[(group_id, user_id)] = (role, now + self.ttl)


class CommandGuard:
    """The per-process guards, built from the settings."""

    def __init__(self, settings) -> None:
        self.seen = SeenEvents(settings.duplicate_window_seconds)
        self.flood = FloodGuard(settings.flood_burst, settings.flood_refill_seconds)
        self.quota = DailyQuota(settings.daily_create_limit)
        self.roles = RoleCache(settings.role_cache_seconds)
