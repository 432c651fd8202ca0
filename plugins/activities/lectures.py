"""微党课: ``/活动 讲者`` (the speakers and their talks) and ``/评分`` (scoring them privately,
step by step through a router conversation, or one speaker at a time)."""

from __future__ import annotations

from nonebot import logger, require
from nonebot.adapters.onebot.v11 import Bot, MessageEvent

from domain.lectures import ScoreSheet
from runtime.args import Mention, integer, person, record_id, word
from runtime.lecture_jobs import LectureScheduler
from runtime.lifecycle import on_ready, services
from runtime.privacy import hide_private_text
from runtime.reply import text
from runtime.router import Call, Command, Conversation, Sub, Usage, router

require("nonebot_plugin_apscheduler")
from nonebot_plugin_apscheduler import scheduler  # noqa: E402

jobs = LectureScheduler(scheduler, services)
hide_private_text()  # scores are given in private chats: their text never reaches the log

ANONYMOUS_WORD = "匿名"
SPEAKERS_USAGE = ("/活动 讲者 <编号> [@讲者 <讲题> @讲者 <讲题> …] [匿名] —— 微党课的讲者和讲题"
                  "（负责人或管理员设置；不写讲者则查看）")
SCORE_USAGE = ("/评分 <活动编号> —— 私聊我，逐一给微党课讲者打 1-5 分（签到的同学；不给自己打分；"
               "截止前可以改）\n/评分 <活动编号> <讲者序号> <1-5> —— 私聊只给一位讲者打分")
PRIVATELY = "评分请私聊我发送 /评分 #{n}（在群里打分大家都看得到，这次没有记录）。"


@on_ready
async def rearm_lectures(svc) -> None:
    closed, pending = await jobs.rearm_all()
    logger.info(f"{len(pending)} 微党课 scoring rounds armed; {len(closed)} closed late")


def parse_speakers(tokens: list) -> tuple[list[tuple[int, str]], bool]:
    """``@甲 讲题 @乙 讲题 … [匿名]`` → ([(person, title)], anonymous); Usage if malformed."""
    words = list(tokens)
    anonymous = bool(words) and words[-1] == ANONYMOUS_WORD
    if anonymous:
        words.pop()
    entries: list[tuple[int, list[str]]] = []
    for token in words:
        who = person(token)
        if who is not None and (isinstance(token, Mention) or not entries or entries[-1][1]):
            entries.append((who, []))
        elif isinstance(token, str) and entries:
            entries[-1][1].append(token)
        else:
            raise Usage()
    if any(not title for _, title in entries):
        raise Usage("每位讲者后面要写上讲题。")
    return [(who, " ".join(title)) for who, title in entries], anonymous


async def speakers(call: Call):
    ctx = call.ctx
    target = record_id(call.tokens[0]) if call.tokens else None
    if target is None:
        raise Usage()
    lectures = ctx.svc.lectures
    if len(call.tokens) > 1:
        await lectures.organised(ctx.branch.id, ctx.actor, target)  # rights before parsing
        entries, anonymous = parse_speakers(call.tokens[1:])
        lecture = await lectures.set_speakers(ctx.branch.id, ctx.actor, target, entries,
                                              anonymous)
        jobs.arm(lecture.round)
        head = "已设置"
    else:
        lecture = await lectures.show(ctx.branch.id, target)
        head = ""
    a = lecture.activity
    names = await lectures.speaker_names(lecture)
    mode = "匿名评分" if lecture.round.anonymous else "记名评分（分数不公开）"
    state = ("评分已截止" if lecture.round.closed_at is not None
             else f"评分截止 {ctx.svc.clock.format(lecture.round.closes_at)}")
    lines = [f"{head}{a.label}「{a.topic}」的讲者（{mode}，{state}）："]
    lines += [f"{s.position}. {names[s.user_id]}《{s.title}》" for s in lecture.speakers]
    if lecture.round.closed_at is None:
        lines.append(f"签到的同学在活动开始后私聊我发送 /评分 #{a.id} 打分。")
    return "\n".join(lines)


class ScoreConversation(Conversation):
    """A 微党课 scored step by step in a private chat (``domain.lectures.ScoreSheet``)."""

    def __init__(self, sheet: ScoreSheet) -> None:
        super().__init__(sheet.expires_at)
        self.sheet = sheet

    async def feed(self, bot: Bot, event: MessageEvent, content: str) -> bool:
        step = await services().lectures.feed(self.sheet, content)
        self.expires_at = self.sheet.expires_at
        await bot.send(event, text(step.reply))
        return step.goes_on

    async def expired(self, bot: Bot, event: MessageEvent) -> None:
        await bot.send(event, text(services().lectures.timeout_notice(self.sheet)))


async def score(call: Call):
    tokens = call.tokens
    target = record_id(tokens[0]) if tokens else None
    if target is None or len(tokens) not in (1, 3):
        raise Usage()
    if len(tokens) == 3:
        position, value = integer(word(tokens, 1)), integer(word(tokens, 2))
        if position is None or value is None or position < 1:
            raise Usage()
        if not 1 <= value <= 5:
            raise Usage(f"评分只能是 1 到 5 分（你写的是 {value}）。")
    if call.ctx.group_id is not None:
        return PRIVATELY.format(n=target)
    lectures = call.ctx.svc.lectures
    if len(tokens) == 3:
        return (await lectures.score(target, call.ctx.user_id, position, value)).reply()
    sheet = await lectures.start(target, call.ctx.user_id)
    router.start_conversation(call.event, ScoreConversation(sheet))
    return lectures.intro(sheet)


SPEAKERS = Sub("讲者", speakers, SPEAKERS_USAGE)
SCORE = Command("评分", aliases=("score",), subs=(
    Sub(None, score, SCORE_USAGE, private=True),
))
