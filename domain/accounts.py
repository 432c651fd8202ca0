"""The QQ accounts serving the bot: where each one is, whom it may write to, and whether it may
send now. Plain Python with the time passed in; the runtime fills it from the QQ sides
(``get_version_info``, ``get_group_list``, ``get_friend_list``, notices) and the outgoing queue
asks it which account carries a message.

What an account does not know is kept as unknown, not as "no": a QQ side that cannot list its
groups may still serve any group, and one that cannot list its friends may still try a private
message (without a ``group_id``, so nothing can be rerouted into a group).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field

HOUR = 3600.0

# QQ sides that can send a private message to a non-friend as a temporary session (a
# ``group_id`` of a group both are in): NapCat only. LLOneBot ignores the group_id and refuses;
# Lagrange.OneBot v1 never sends temp messages (README, "QQ sides").
TEMP_SESSION_IMPLS = ("napcat",)


def implementation_of(app_name: str | None) -> str:
    """A short name for ``get_version_info``'s ``app_name``: napcat, llonebot, lagrange, or the
    name itself lower-cased ("" when unknown)."""
    name = (app_name or "").lower()
    for known in ("napcat", "llonebot", "lagrange"):
        if known in name:
            return known
    return name


@dataclass
class Account:
    """One connected (or once connected) QQ account."""

    self_id: int
    connected: bool = False
    app_name: str = ""
    app_version: str = ""
    groups: set[int] | None = None  # the group list (None: the QQ side did not say)
    friends: set[int] | None = None  # the friend list (None: the QQ side did not say)
    not_friends: set[int] = field(default_factory=set)  # learnt from refused private sends
    muted: dict[int, float] = field(default_factory=dict)  # group -> muted until
    removed: set[int] = field(default_factory=set)  # groups it was removed from
    paused_until: float = 0.0  # risk control
    pause_reason: str = ""
    pause_level: int = 0  # how many pauses in a row (exponential back-off)
    failures: int = 0  # consecutive timeouts or failed sends
    changed_at: float = 0.0  # connected or disconnected at
    sends: deque[float] = field(default_factory=deque)  # send times in the last hour

    @property
    def implementation(self) -> str:
        return implementation_of(self.app_name)

    @property
    def can_temp_session(self) -> bool:
        return self.implementation in TEMP_SESSION_IMPLS

    def in_group(self, group_id: int) -> bool | None:
        """True (listed, or it delivered a message from there), False (removed, or a send
        there was refused as not in the group), or None: not known either way. The group list
        read at connect goes stale (a join notice can be missed), so absence from it is not
        taken as "no"; a refused send settles it."""
        if group_id in self.removed:
            return False
        if self.groups is not None and group_id in self.groups:
            return True
        return None

    def is_friend(self, user_id: int) -> bool | None:
        """True (in the friend list), False (a private send was refused as to a non-friend),
        or None: not known either way. A friend list read at connect goes stale (a friend
        notice can be missed), so absence from it is not taken as "no": a private message is
        tried directly, without a ``group_id``, and a refusal settles it."""
        if user_id in self.not_friends:
            return False
        if self.friends is not None and user_id in self.friends:
            return True
        return None

    def paused(self, now: float) -> bool:
        return self.paused_until > now

    def muted_in(self, group_id: int, now: float) -> bool:
        return self.muted.get(group_id, 0.0) > now

    def sends_last_hour(self, now: float) -> int:
        while self.sends and self.sends[0] <= now - HOUR:
            self.sends.popleft()
        return len(self.sends)


class Accounts:
    """Every account the bot has seen, by QQ number."""

    def __init__(self, risk_failures: int = 3, risk_pause_seconds: float = 300.0,
                 risk_pause_max_seconds: float = 6 * HOUR) -> None:
        self.risk_failures = risk_failures
        self.risk_pause_seconds = risk_pause_seconds
        self.risk_pause_max_seconds = risk_pause_max_seconds
        self._accounts: dict[int, Account] = {}

    def get(self, self_id: int) -> Account:
        account = self._accounts.get(self_id)
        if account is None:
            account = self._accounts[self_id] = Account(self_id)
        return account

    def all(self) -> list[Account]:
        return sorted(self._accounts.values(), key=lambda a: a.self_id)

    def connected(self) -> list[Account]:
        return [a for a in self.all() if a.connected]

    # what the QQ sides tell ---------------------------------------------------------------

    def connect(self, self_id: int, now: float) -> Account:
        account = self.get(self_id)
        account.connected = True
        account.changed_at = now
        return account

    def disconnect(self, self_id: int, now: float) -> Account:
        account = self.get(self_id)
        account.connected = False
        account.changed_at = now
        return account

    def sync(self, present: Iterable[int], now: float) -> None:
        """Match the connected flags to the connections that exist (connect and disconnect
        notices can be missed)."""
        present = set(present)
        for self_id in present:
            if not self.get(self_id).connected:
                self.connect(self_id, now)
        for account in self._accounts.values():
            if account.connected and account.self_id not in present:
                self.disconnect(account.self_id, now)

    def joined(self, self_id: int, group_id: int) -> None:
        """The account is in the group (listed, or it delivered a message from there)."""
        account = self.get(self_id)
        account.removed.discard(group_id)
        if account.groups is not None:
            account.groups.add(group_id)

    def left(self, self_id: int, group_id: int) -> None:
        """Removed from the group, or the group is gone."""
        account = self.get(self_id)
        account.removed.add(group_id)
        if account.groups is not None:
            account.groups.discard(group_id)

    def befriended(self, self_id: int, user_id: int) -> None:
        account = self.get(self_id)
        account.not_friends.discard(user_id)
        if account.friends is not None:
            account.friends.add(user_id)

    def not_a_friend(self, self_id: int, user_id: int) -> None:
        """A private send was refused because the person is not a friend of this account."""
        account = self.get(self_id)
        account.not_friends.add(user_id)
        if account.friends is not None:
            account.friends.discard(user_id)

    def mute(self, self_id: int, group_id: int, until: float) -> None:
        """Muted in the group until ``until`` (a lift ends it: pass ``until`` <= now)."""
        account = self.get(self_id)
        if until <= 0:
            account.muted.pop(group_id, None)
        else:
            account.muted[group_id] = until

    # sending -------------------------------------------------------------------------------

    def sent(self, self_id: int, now: float) -> None:
        """A send went through: the run of failures (and the back-off level) ends."""
        account = self.get(self_id)
        account.failures = 0
        account.pause_level = 0
        account.sends.append(now)

    def failed(self, self_id: int, now: float) -> float | None:
        """A send timed out or failed for no reason of its target. Returns the pause's end when
        this run of failures makes risk control (风控) likely and the account is paused now."""
        account = self.get(self_id)
        account.failures += 1
        if account.failures < self.risk_failures:
            return None
        account.failures = 0
        account.pause_level += 1
        seconds = min(self.risk_pause_seconds * 2 ** (account.pause_level - 1),
                      self.risk_pause_max_seconds)
        account.paused_until = now + seconds
        account.pause_reason = "疑似风控（连续发送失败或超时）"
        return account.paused_until

    def for_group(self, group_id: int, now: float) -> list[Account]:
        """Connected accounts that may send to the group now, neither muted there nor
        paused: those known to be in it; only when none is known, those that might be (their
        lists may be stale), so a known account is never passed over for a guess."""
        found = [a for a in self.connected() if a.in_group(group_id) is not False
                 and not a.muted_in(group_id, now) and not a.paused(now)]
        known = [a for a in found if a.in_group(group_id) is True]
        return known or found

    def serving_group(self, group_id: int) -> list[Account]:
        """Every account known to be in the group, connected or not (for ``/支部 状态``)."""
        return [a for a in self.all() if a.in_group(group_id)]

    def for_friend(self, user_id: int, now: float) -> list[Account]:
        """Connected, unpaused accounts that may write to the person directly: their friends
        first, then accounts that do not know (they try without a ``group_id``)."""
        found = [a for a in self.connected() if a.is_friend(user_id) is not False
                 and not a.paused(now)]
        return sorted(found, key=lambda a: a.is_friend(user_id) is not True)

    def for_temp_session(self, group_id: int, now: float) -> list[Account]:
        """Connected accounts whose QQ side can write to a non-friend through the group."""
        return [a for a in self.for_group(group_id, now) if a.can_temp_session]

    def is_friend_anywhere(self, user_id: int) -> bool | None:
        """Whether any connected account has the person as a friend (None: nobody knows)."""
        answers = [a.is_friend(user_id) for a in self.connected()]
        if any(answers):
            return True
        return None if any(x is None for x in answers) or not answers else False
