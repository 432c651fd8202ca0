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

from enum import Enum


class Delivery(Enum):
    SECRET = "secret"
    PERSONAL = "personal"
    PUBLIC = "public"


# Every kind a message is queued or sent with. A kind not listed here is refused when queued,
# so a new feature cannot forget to decide.
KIND_POLICY: dict[str, Delivery] = {
    # secret: never with a group_id, never to a non-friend
    "checkin_code": Delivery.SECRET,  # a session's code or screen link, to leader and creator
    "session_leader": Delivery.SECRET,  # the leader's reminder the evening before (code, link)
    "problem_detail": Delivery.SECRET,  # a problem's full text, to someone allowed to see it
    "problem_new_private": Delivery.SECRET,  # a privately raised problem, to the 支委
    "private_list": Delivery.SECRET,  # names and records an admin asked for (sheets, rosters)
    "roster_preview": Delivery.SECRET,
    "backup_failed": Delivery.SECRET,  # names paths on the bot's machine
    # personal: private first, else an @-mention without the private text
    "problem_notice": Delivery.PERSONAL,
    "problem_overdue": Delivery.PERSONAL,
    "problem_overdue_admin": Delivery.PERSONAL,
    "survey_invite": Delivery.PERSONAL,
    "waitlist_promoted": Delivery.PERSONAL,
    "ballot_lost": Delivery.PERSONAL,  # an anonymous ballot or survey answer lost in a restart
    "absence_notice": Delivery.PERSONAL,
    "meetings_behind": Delivery.PERSONAL,
    "backlog_warning": Delivery.PERSONAL,
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


def policy_of(kind: str) -> Delivery:
    """The policy of a private message's kind (every group message is ``PUBLIC``)."""
    try:
        return KIND_POLICY[kind]
    except KeyError:
        raise ValueError(f"message kind {kind!r} has no delivery policy: add it to "
                         "domain.delivery.KIND_POLICY") from None
