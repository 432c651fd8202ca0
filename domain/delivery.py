"""How each kind of message may reach a person: the delivery policy, one table for the whole bot.

The QQ sides behave differently with people who are not the bot's friend (README, "QQ sides"):
NapCat sends a private message with a ``group_id`` as a temporary session, and posts it in the
group when it cannot resolve the person; LLOneBot and Lagrange refuse it. So what is secret
must never be sent with a ``group_id``, and what cannot be delivered privately must either wait
for the person or be told in the group without its private text.

- ``SECRET``: check-in codes, screen and page links, private 民情 text, survey questions, backup
  paths, roster previews. Private only, to friends only, never with a ``group_id``. To a person
  who is not a friend it is not sent: they are told to add the bot in reply to their next
  command, and the sender (where there is one) is told at once.
- ``PERSONAL``: reminders, promotions, status changes, make-up notes. Private first; on a
  permanent failure an @-mention in the branch's group that carries no private text (the
  message's ``fallback``, or a generic one naming the command to look it up).
- ``PUBLIC``: group messages (announcements, reminders, summaries); they need no entry here.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum

from domain.accounts import Accounts


class Delivery(Enum):
    SECRET = "secret"
    PERSONAL = "personal"
    PUBLIC = "public"


# Every kind a message is queued or sent with. A kind not listed here is refused when queued,
# so a new feature cannot forget to decide.
KIND_POLICY: dict[str, Delivery] = {
    # secret: never with a group_id, never to a non-friend
    "checkin_code": Delivery.SECRET,  # a session's code or screen link, to leader and creator
    "dashboard_link": Delivery.SECRET,  # the secretary's page
    "session_leader": Delivery.SECRET,  # the leader's reminder the evening before (code, link)
    "problem_detail": Delivery.SECRET,  # a problem's full text, to someone allowed to see it
    "problem_new_private": Delivery.SECRET,  # a privately raised problem, to the 支委
    "problem_notice_private": Delivery.SECRET,  # news of a privately raised problem
    "private_list": Delivery.SECRET,  # names and records an admin asked for (sheets, rosters)
    "roster_preview": Delivery.SECRET,
    "backup_failed": Delivery.SECRET,  # names paths on the bot's machine
    # personal: private first, else an @-mention without the private text
    "problem_notice": Delivery.PERSONAL,  # news of a problem raised in a group
    "problem_overdue": Delivery.PERSONAL,
    "problem_overdue_admin": Delivery.PERSONAL,
    "survey_invite": Delivery.PERSONAL,
    "waitlist_promoted": Delivery.PERSONAL,
    "ballot_lost": Delivery.PERSONAL,  # an anonymous ballot or survey answer lost in a restart
    "absence_notice": Delivery.PERSONAL,
    "meetings_behind": Delivery.PERSONAL,
    "backlog_warning": Delivery.PERSONAL,
    "account_alert": Delivery.PERSONAL,  # to superusers: an account dropped or is paused
    "friend_greeting": Delivery.PERSONAL,
    "wish_match": Delivery.PERSONAL,  # a new wish may suit your skills (the wish is public)
    "area_wish": Delivery.PERSONAL,  # a wish from your responsibility area (public text)
    "area_problem": Delivery.PERSONAL,  # a group-raised, named problem from your area: what
    #                                     the group sees; private and anonymous ones are not told
    "post_assigned": Delivery.PERSONAL,
    "task_assigned": Delivery.PERSONAL,
    "task_reminder": Delivery.PERSONAL,
    "task_overdue": Delivery.PERSONAL,
    "task_done": Delivery.PERSONAL,  # to the publisher and the floor's 组长: please confirm
    "task_confirmed": Delivery.PERSONAL,
    "task_returned": Delivery.PERSONAL,
    "exemplar_review": Delivery.PERSONAL,  # 微典型 通过/退回, to the nominee and the nominator
}


def friend_hint(self_id: int, kind: str | None = None) -> str:
    """The one-time note to someone a private message could not reach (or who writes to the
    bot in a temporary session, ``kind`` "temp_session")."""
    if kind == "temp_session":
        return (f"📮 签到码、投屏链接、民情进展等私密消息只发给好友：请加我（QQ {self_id}）为好友，"
                "之后就能私聊收到了。")
    return (f"📮 有私聊消息（签到码、通知等）没能送达你：请加我（QQ {self_id}）为好友，"
            "之后就能私聊收到了。")


def policy_of(kind: str) -> Delivery:
    """The policy of a private message's kind (every group message is ``PUBLIC``)."""
    try:
        return KIND_POLICY[kind]
    except KeyError:
        raise ValueError(f"message kind {kind!r} has no delivery policy: add it to "
                         "domain.delivery.KIND_POLICY") from None


class Failure(Enum):
    """Why a send failed, as far as the QQ side's answer tells (``classify``)."""

    TIMEOUT = "timeout"  # no confirmation: it may have gone out; check before any retry
    NOT_FRIEND = "not_friend"  # the person cannot be written to from this account
    REMOVED = "removed"  # the account is not in the group (removed, or the group is gone)
    MUTED = "muted"  # the account (or the whole group) is muted there
    TRANSIENT = "transient"  # anything else: retried with back-off


# QQ's own result codes, passed through by NapCat/LLOneBot inside the error text
# ("EventChecker Failed: … "result": 110, "errMsg": …" / "invoke failed, … { result: 16, … }")
# and by Lagrange as the bare retcode.
QQ_NOT_FRIEND = 16  # C2C to a non-friend; Lagrange users also see it for a group that is gone
QQ_REMOVED = 110
QQ_MUTED = 120
LAGRANGE_NO_RESPONSE = (9057, 9000)  # no answer event / no sequence: it may have gone out
_RESULT = re.compile(r"result\"?\s*[:=]\s*(-?\d+)")
_TIMEOUT_WORDS = ("Timeout: NTEvent", "invoke timeout", "timeout")
_NOT_FRIEND_WORDS = ("添加对方为好友", "无法获取用户信息")
_REMOVED_WORDS = ("移出该群", "群不存在", "不在该群", "not in group")
_MUTED_WORDS = ("禁言",)


def classify(text: str, retcode: int | None, target_type: str) -> Failure:
    """Classify a failed send from the QQ side's error text (message, wording, status) and
    retcode; ``target_type`` is "group" or "private". Sources: README, "QQ sides"."""
    codes = {int(c) for c in _RESULT.findall(text)}
    if retcode is not None:
        codes.add(int(retcode))
    if QQ_MUTED in codes or any(w in text for w in _MUTED_WORDS):
        return Failure.MUTED
    if QQ_REMOVED in codes or any(w in text for w in _REMOVED_WORDS):
        return Failure.REMOVED
    if QQ_NOT_FRIEND in codes or any(w in text for w in _NOT_FRIEND_WORDS):
        return Failure.NOT_FRIEND if target_type == "private" else Failure.REMOVED
    if codes & set(LAGRANGE_NO_RESPONSE) or any(w.lower() in text.lower()
                                                 for w in _TIMEOUT_WORDS):
        return Failure.TIMEOUT
    return Failure.TRANSIENT


@dataclass(frozen=True)
class Route:
    """An account that may carry a message now; ``group_id`` set for a private message sent
    as a temporary session through that group (never for a secret)."""

    self_id: int
    group_id: int | None = None


def routes(accounts: Accounts, available: Iterable[int], target_type: str, target_id: int,
           kind: str, via_group_id: int | None, now: float) -> list[Route] | None:
    """The accounts that may carry a queued message now, best first.

    ``[]``: nobody now, but it may become possible (the accounts in the group are muted or
    paused, or none is connected): the message waits. ``None``: no connected account can ever
    deliver it as the policy allows (a person who is nobody's friend): the caller settles it as
    undeliverable.
    """
    ready = set(available)
    if target_type == "group":
        return [Route(a.self_id) for a in accounts.for_group(target_id, now)
                if a.self_id in ready]
    policy = policy_of(kind)
    direct = [Route(a.self_id) for a in accounts.for_friend(target_id, now)
              if a.self_id in ready]
    if direct:
        return direct
    if policy is Delivery.PERSONAL and via_group_id is not None:
        temp = [Route(a.self_id, via_group_id)
                for a in accounts.for_temp_session(via_group_id, now)
                if a.self_id in ready and a.is_friend(target_id) is False]
        if temp:
            return temp
    # a friend (or an account that does not know) exists but is paused: wait for it
    if any(a.self_id in ready and a.is_friend(target_id) is not False
           for a in accounts.connected()):
        return []
    return None
