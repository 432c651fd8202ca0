"""Every conversation in docs/书记手册.md and docs/同学指南.md is typed to the bot through the real
router (the one matcher of ``plugins/router``), on a frozen clock and the playground's cast,
and each documented answer is compared with what the bot says (``tests/docs/examples.py``).
"""

from __future__ import annotations

import itertools
from datetime import datetime

import pytest
from nonebot.adapters.onebot.v11 import Bot, Message, MessageSegment

from config import BranchConfig
from tests.conftest import ROOT, TZ
from tests.docs.examples import follows, parse
from tests.fakes import SELF_ID, group_message, private_message
from tools.playground import CAST, GROUPS, name_of, person_named, seed_services, to_segments

MANUALS = ("书记手册.md", "同学指南.md")
# a fixed TOTP secret for every session, so the codes the manual shows are the codes
SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
_message_ids = itertools.count(5000)


def render(message) -> str:
    """A message as a person reads it: text, ``@姓名`` for mentions, ``[图片]``."""
    parts = []
    for seg in message if isinstance(message, Message) else Message(message):
        if seg.type == "text":
            parts.append(seg.data["text"])
        elif seg.type == "at":
            parts.append(f"@{name_of(seg.data['qq'])} ")
        elif seg.type == "image":
            parts.append("[图片]")
    return "".join(parts)


class QQSide(Bot):
    """Answers what the bot asks the QQ side about the playground's groups and cast."""

    private_replies: list[str] | None = None  # a private chat's replies sent by the API
    asker: int = 0

    async def call_api(self, api: str, **data):
        if (api == "send_private_msg" and self.private_replies is not None
                and int(data.get("user_id", 0)) == self.asker):
            self.private_replies.append(render(data["message"]))
        group = next((g for g in GROUPS if g.group_id == data.get("group_id")), None)
        if api == "get_group_member_info" and group is not None:
            person = next((p for p in CAST if p.qq == int(data["user_id"])), None)
            role = person.role_in(group.number) if person else "member"
            return {"group_id": group.group_id, "user_id": int(data["user_id"]), "role": role}
        if api == "get_group_info" and group is not None:
            members = sum(group.number in p.groups for p in CAST)
            return {"group_id": group.group_id, "member_count": members}
        if api.startswith("send_") or api == "upload_group_file":
            return {"message_id": next(_message_ids)}
        return {}


def event_of(step):
    person = person_named(step.who)
    assert person is not None and person.name == step.who, f"unknown person {step.who!r}"
    message = Message([MessageSegment(s["type"], s["data"]) for s in to_segments(step.text)])
    if step.chat == "私聊":
        return private_message(person.qq, message)
    group = next((g for g in GROUPS if g.label == step.chat), None)
    assert group is not None, f"unknown chat {step.chat!r}"
    return group_message(person.qq, message, group_id=group.group_id,
                         role=person.role_in(group.number))


async def answer_to(app, event) -> list[str]:
    """The texts the bot sent back into the chat of ``event``, in order."""
    replies: list[str] = []
    async with app.test_matcher() as ctx:
        bot = ctx.create_bot(base=QQSide, self_id=SELF_ID)

        async def send(to, message, **_):
            replies.append(render(message))
            return {"message_id": next(_message_ids)}

        bot.send = send
        if event.message_type == "private":  # a secret answered through send_private
            bot.private_replies, bot.asker = replies, int(event.user_id)
        ctx.receive_event(bot, event)
    return replies


@pytest.fixture
def settings(tmp_path) -> BranchConfig:
    """The defaults, except what a frozen clock would turn against a story told in one moment:
    the flood limit refills with time, and a manual's secretary types for hours, not at once;
    replies are not paced (each command is answered on its own, as in a quiet group)."""
    return BranchConfig(reply_interval_seconds=0, flood_burst=1000,
                        backup_dir=str(tmp_path / "backups"))


@pytest.mark.parametrize("manual", MANUALS)
async def test_every_example_answers_as_documented(app, services, clock, monkeypatch, manual):
    start, steps = parse(ROOT / "docs" / manual)
    assert sum(1 for s in steps if s.clock is None) >= 10, "a manual without examples"
    monkeypatch.setattr("domain.sessions.new_secret", lambda: SECRET)
    # links to the secretary's page and the showcase page, numbered instead of random
    tokens = (f"manual-example-link-{n:04d}" for n in itertools.count(1))
    for module in ("domain.dashboard", "domain.exemplars"):
        monkeypatch.setattr(f"{module}.new_token", lambda: next(tokens))
    if start == "seeded":
        await seed_services(services)
    year = clock.now().year
    wrong: list[str] = []  # every mismatch, each with the bot's whole answer
    for step in steps:
        if step.clock is not None:
            month, day, hour, minute = step.clock
            moment = datetime(year, month, day, hour, minute, tzinfo=TZ)
            assert moment >= clock.now(), f"{manual}:{step.line}: the clock goes back"
            clock.set(moment)
            continue
        replies = await answer_to(app, event_of(step))
        where = f"{manual}:{step.line} {step.who}：{step.text.splitlines()[0]}"
        if not replies:
            wrong.append(f"{where}: the bot said nothing")
            continue
        lines = replies[0].split("\n")
        if lines[0] != step.answer[0] or not follows(step.answer[1:], lines[1:]):
            wrong.append(f"{where}\n  documented: {step.answer}\n  the bot:\n"
                         + "\n".join(f"    {line}" for line in replies[0].split("\n")))
    assert not wrong, f"{len(wrong)} examples differ:\n" + "\n".join(wrong)
