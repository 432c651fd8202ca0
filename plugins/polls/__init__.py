from nonebot import logger, require
from nonebot.adapters.onebot.v11 import Bot, MessageEvent
from nonebot.plugin import PluginMetadata

from domain.errors import DomainError
from domain.polls import Ballot, PollInputError, parse_choices
from domain.surveys import AnswerSheet, SurveyInputError
from runtime.args import record_id
from runtime.lifecycle import on_ready, on_stopping, services
from runtime.privacy import hide_private_text
from runtime.reply import paginate, send_private, shorten, text
from runtime.router import Call, Command, Conversation, Sub, Usage, register, router, usage_of

require("nonebot_plugin_apscheduler")
from nonebot_plugin_apscheduler import scheduler  # noqa: E402

from runtime.poll_jobs import PollScheduler  # noqa: E402

jobs = PollScheduler(scheduler, services)
ANSWER_PRIVATELY = "问卷请私聊我发送 /问卷 填写 #{n} 一题一题地填写（在群里回答大家都看得到）。"


@on_ready
async def rearm_polls(svc) -> None:
    caught = await jobs.rearm_all()
    lost = await svc.surveys.recover_lost_answers()
    invited = await jobs.rearm_invitations()
    logger.info(f"{len(caught.pending)} poll deadlines armed; {len(caught.announced)} closed late "
                f"with results posted, {len(caught.quiet)} closed too late to post; "
                f"{len(invited)} survey invitations sent late; {caught.lost} anonymous ballots "
                f"and {lost} anonymous survey answers lost in the last stop, their people told")


@on_stopping
async def count_waiting_ballots(svc) -> None:
    """A planned stop: anonymous ballots that make whole batches are counted, not lost."""
    counted = await svc.polls.count_before_stopping() + await svc.surveys.store_before_stopping()
    if counted:
        logger.info(f"{counted} waiting anonymous ballots and answers stored before stopping")


def number(call: Call, index: int = 0, exact: int | None = None) -> int:
    """The record number at ``index`` of the tokens, or the usage line."""
    tokens = call.tokens
    found = record_id(tokens[index]) if len(tokens) > index else None
    if found is None or (exact is not None and len(tokens) != exact):
        raise Usage()
    return found


def branch_of(call: Call) -> int | None:
    return call.ctx.branch.id if call.ctx.branch is not None else None


async def tell_privately(call: Call, pages: list[str], what: str, retry: str) -> str:
    """Send ``pages`` to the asker privately (from a group); the group hears only that."""
    for page in pages:
        if not await send_private(call.bot, call.ctx.user_id, call.ctx.group_id, page):
            return f"{what}私聊发送失败，请加我为好友后私聊发送 {retry}。"
    return f"{what}已私聊发给你。"


# 投票 -------------------------------------------------------------------------------------


def chosen(ballot: Ballot, positions: tuple[int, ...]) -> str:
    return "、".join(f"{p}「{shorten(ballot.poll.labels[p - 1], 20)}」" for p in positions)


def ballot_reply(ballot: Ballot, in_group: bool) -> str:
    poll = ballot.poll
    if ballot.outcome == "already":
        return (f"你已经投过匿名投票 #{poll.id} 了：匿名投票不记录你选了什么，所以不能改投，"
                "这次没有计入。")
    if poll.anonymous:
        hint = "下次可以私聊我投匿名票，群里就看不到你的选择。" if in_group else ""
        batch = services().settings.anonymous_batch
        return (f"已收到你在匿名投票 #{poll.id} 的选票。匿名投票不记录谁选了什么，所以投出后"
                f"不能更改；为保护匿名，选票每凑满 {batch} 张一起计入，投票结束时全部计入"
                f"（发送 /投票 #{poll.id} 可查看是否已计入；计入前如遇机器人重启，我会私聊请你"
                f"重新投）。{hint}")
    if ballot.outcome == "replaced" and ballot.previous == ballot.choices:
        return f"你在投票 #{poll.id} 已经选了 {chosen(ballot, ballot.choices)}，选择没有变化。"
    if ballot.outcome == "replaced":
        return (f"已改投：投票 #{poll.id} 你现在选的是 {chosen(ballot, ballot.choices)}"
                f"（替换了之前的 {chosen(ballot, ballot.previous)}）。"
                "截止前还可以再改，以最后一次为准。")
    return (f"已投票：投票 #{poll.id} 你选了 {chosen(ballot, ballot.choices)}。"
            "截止前可以重新投票，以最后一次为准。")


async def poll_main(call: Call):
    """``/投票 [列表]`` lists; ``/投票 #N`` shows one; ``/投票 #N 1 3`` votes."""
    tokens = call.tokens
    if not tokens or tokens == ["列表"]:
        return await list_polls(call)
    poll_no = record_id(tokens[0])
    words = tokens[1:]
    if poll_no is None or not all(isinstance(w, str) for w in words):
        raise Usage()
    if not words:
        return await show_poll(call, poll_no)
    choices = parse_choices(words)  # type: ignore[arg-type]
    if choices is None:
        raise Usage()
    try:
        ballot = await call.ctx.svc.polls.vote(poll_no, call.ctx.user_id, choices, branch_of(call))
    except PollInputError as exc:
        raise Usage(str(exc)) from exc
    return ballot_reply(ballot, call.ctx.group_id is not None)


async def list_polls(call: Call):
    ctx = call.ctx
    polls = ctx.svc.polls
    branch_ids = [ctx.branch.id] if ctx.branch else await polls.branches_of(ctx.user_id)
    if not branch_ids:
        return "你还没有在任何支部登记，私聊时看不到投票。请先在支部群里 /登记。"
    found = await polls.listing(branch_ids)
    if not found:
        return "现在没有进行中的投票。管理员可以发送 /投票 发起 <问题> | <选项1> | <选项2> 发起。"
    lines = ["投票（进行中的和最近结束的）："]
    for poll, voters in found:
        lines.append(f"#{poll.id}【{polls.describe(poll)}】{shorten(poll.question)}"
                     f"（{voters} 人已投）")
    lines.append("投票：/投票 <编号> <选项号>；看结果：/投票 结果 <编号>")
    return paginate(lines, ctx.svc.settings.reply_max_chars)


async def show_poll(call: Call, poll_no: int):
    ctx = call.ctx
    polls = ctx.svc.polls
    poll = await polls.find(poll_no, ctx.actor, branch_of(call))
    tally = await polls.tally(poll)
    shown = polls.render(tally, await polls.may_see_counts(poll, ctx.actor)
                         and not (poll.hide_results and ctx.group_id and polls.is_open(poll)))
    if poll.anonymous and ctx.group_id is None:  # privately: whether mine is counted yet
        state = await polls.ballot_state(poll, ctx.user_id)
        shown += "\n你的选票：" + {"counted": "已计入", "waiting": "已收到，等待与其他选票一起计入",
                                   None: "还没有投"}[state]
    if polls.is_open(poll):
        shown += f"\n投票：/投票 #{poll.id} <选项号>"
    return shown


async def start_poll(call: Call):
    body = call.rest()
    if not body:
        raise Usage()
    ctx = call.ctx
    try:
        poll = await ctx.svc.polls.create(ctx.branch.id, ctx.group_id, ctx.actor, body)
    except PollInputError as exc:
        raise Usage(str(exc)) from exc
    jobs.arm(poll)
    return ctx.svc.polls.announcement(poll).replace("🗳️ 投票", "已发起投票", 1)


async def poll_results(call: Call):
    ctx = call.ctx
    polls = ctx.svc.polls
    poll = await polls.find(number(call, exact=1), ctx.actor, branch_of(call))
    tally = await polls.tally(poll)
    if not await polls.may_see_counts(poll, ctx.actor):
        return polls.render(tally, show_counts=False)
    if poll.hide_results and polls.is_open(poll) and ctx.group_id is not None:
        # an admin asking in the group: the counts must not reach the group before the close
        return await tell_privately(call, [polls.render(tally)], f"投票 #{poll.id} 的当前结果",
                                    f"/投票 结果 #{poll.id}")
    return polls.render(tally)


async def end_poll(call: Call):
    ctx = call.ctx
    tally = await ctx.svc.polls.close(number(call, exact=1), ctx.actor, branch_of(call),
                                      ctx.group_id)
    jobs.disarm(tally.poll.id)
    return ctx.svc.polls.result_notice(tally)


async def poll_roster(call: Call):
    ctx = call.ctx
    poll, chosen_by = await ctx.svc.polls.roster(number(call, exact=1), ctx.actor,
                                                 branch_of(call))
    lines = [f"投票 #{poll.id}「{poll.question}」名单："]
    for i, (label, names) in enumerate(zip(poll.labels, chosen_by, strict=True), start=1):
        lines.append(f"{i}. {label}（{len(names)} 人）：{'、'.join(names) or '无'}")
    pages = paginate(lines, ctx.svc.settings.reply_max_chars)
    if ctx.group_id is None:
        return pages
    return await tell_privately(call, pages, f"投票 #{poll.id} 的名单", f"/投票 名单 #{poll.id}")


POLL = Command("投票", aliases=("poll",), subs=(
    Sub(None, poll_main, "/投票 [列表] —— 进行中和最近结束的投票\n"
                         "/投票 <编号> <选项号…> —— 投票（多选用空格分开；记名投票截止前可改投）",
        private=True),
    Sub("发起", start_poll, "/投票 发起 <问题> | <选项1> | <选项2> [| …] [多选] [匿名] "
                          "[截止 <时间>] [隐藏结果] —— 发起投票（2–10 个选项，用 | 或换行分隔）",
        admin=True, creates=True),
    Sub("结果", poll_results, "/投票 结果 <编号> —— 票数、比例和参与率"
                             "（隐藏结果的投票截止前只给管理员看）", private=True),
    Sub("结束", end_poll, "/投票 结束 <编号> —— 提前结束投票并公布结果（发起人或管理员）",
        private=True),
    Sub("名单", poll_roster, "/投票 名单 <编号> —— 记名投票谁选了什么，私聊发给管理员",
        private=True, secret=True),
))


# 问卷 -------------------------------------------------------------------------------------


class SurveyConversation(Conversation):
    """A survey answered step by step in a private chat (see ``domain.surveys.AnswerSheet``)."""

    def __init__(self, sheet: AnswerSheet) -> None:
        super().__init__(sheet.expires_at)
        self.sheet = sheet

    async def feed(self, bot: Bot, event: MessageEvent, content: str) -> bool:
        svc = services()
        step = self.sheet.feed(content, svc.clock.now().timestamp())
        self.expires_at = self.sheet.expires_at
        reply = step.reply
        if step.kind == "done":
            try:
                survey = await svc.surveys.submit(self.sheet)
                reply = f"已提交，感谢你填写问卷 #{survey.id}「{survey.title}」！"
                if survey.anonymous:
                    reply += (f"为保护匿名，回答每凑满 {svc.settings.anonymous_batch} 份一起保存，"
                              "问卷结束时全部保存；保存前如遇机器人重启，我会私聊请你重新填写。")
            except DomainError as exc:
                reply = str(exc)
        await bot.send(event, text(reply))
        return step.goes_on

    async def expired(self, bot: Bot, event: MessageEvent) -> None:
        await bot.send(event, text(self.sheet.timeout_notice()))


async def list_surveys(call: Call):
    if call.tokens:
        raise Usage()
    ctx = call.ctx
    surveys = ctx.svc.surveys
    branch_ids = [ctx.branch.id] if ctx.branch else await surveys.branches_of(ctx.user_id)
    if not branch_ids:
        return "你还没有在任何支部登记，私聊时看不到问卷。请先在支部群里 /登记。"
    found = await surveys.listing(branch_ids)
    if not found:
        return "现在没有进行中的问卷。"
    lines = ["问卷（进行中的和最近结束的）："]
    for survey, responses in found:
        state = "进行中" if survey.state == "open" else "已结束"
        flags = "，匿名" if survey.anonymous else ""
        link = await surveys.link_label(survey)
        lines.append(f"#{survey.id}【{state}{flags}】{shorten(survey.title)}"
                     f"{'（' + link + ' 参加者）' if link else ''} 已回收 {responses} 份")
    lines.append("填写：私聊我发送 /问卷 填写 <编号>")
    return paginate(lines, ctx.svc.settings.reply_max_chars)


async def start_survey(call: Call):
    body = call.rest()
    if not body:
        raise Usage()
    ctx = call.ctx
    surveys = ctx.svc.surveys
    try:
        survey, invited = await surveys.create(ctx.branch.id, ctx.group_id, ctx.actor, body)
    except SurveyInputError as exc:
        raise Usage(str(exc)) from exc
    lines = [f"已发起问卷 #{survey.id}「{survey.title}」，共 {len(survey.questions)} 题"
             f"（{'匿名' if survey.anonymous else '记名'}）："]
    lines += [f"{q.position}. {q.prompt}{'（选填）' if q.optional else ''}"
              for q in survey.questions]
    link = await surveys.link_label(survey)
    groups = await ctx.svc.branches.groups(ctx.branch.id)
    others = "，本支部的其他群也已通知" if len(groups) > 1 else ""
    if survey.link_kind is None:
        lines.append(f"已私聊邀请本支部登记的成员 {invited} 人{others}。"
                     f"填写：私聊我发送 /问卷 填写 #{survey.id}")
    elif survey.invited_at is not None:
        lines.append(f"只请{link} 的参加者填写：已私聊邀请 {invited} 人{others}。")
    else:
        jobs.arm_invitation(survey)
        lines.append(f"只请{link} 的参加者填写：将在 "
                     f"{ctx.svc.clock.format(survey.invite_at)} 签到结束后私聊邀请{others}。")
    return "\n".join(lines)


async def answer_survey(call: Call):
    survey_no = number(call, exact=1)
    if call.ctx.group_id is not None:
        return ANSWER_PRIVATELY.format(n=survey_no)
    sheet = await call.ctx.svc.surveys.start(survey_no, call.ctx.actor)
    router.start_conversation(call.event, SurveyConversation(sheet))
    return sheet.intro()


async def survey_results(call: Call):
    ctx = call.ctx
    surveys = ctx.svc.surveys
    results = await surveys.results(number(call, exact=1), ctx.actor, branch_of(call))
    pages = paginate((await surveys.render_results(results)).split("\n"),
                     ctx.svc.settings.reply_max_chars)
    if ctx.group_id is None:
        return pages
    survey_id = results.survey.id
    return await tell_privately(call, pages, f"问卷 #{survey_id} 的结果",
                                f"/问卷 结果 #{survey_id}")


async def end_survey(call: Call):
    ctx = call.ctx
    survey = await ctx.svc.surveys.close(number(call, exact=1), ctx.actor, branch_of(call))
    return (f"问卷 #{survey.id}「{survey.title}」已结束，不再接受填写。"
            f"/问卷 结果 #{survey.id} 查看结果。")


SURVEY = Command("问卷", aliases=("survey",), subs=(
    Sub("列表", list_surveys, "/问卷 [列表] —— 进行中和最近结束的问卷", default=True, private=True),
    Sub("发起", start_survey,
        "/问卷 发起 <标题> [匿名] [关联 导学#N|活动#N|心愿#N]，下面每行一题："
        "评分 <题目> / 选择 <题目> | 选项1 | 选项2 / 填空 <题目>，末尾写“选填”可跳过；"
        "或 /问卷 发起 满意度 [关联 …] [匿名] 用满意度模板",
        admin=True, creates=True),
    Sub("填写", answer_survey, "/问卷 填写 <编号> —— 私聊我一题一题地填写", private=True,
        secret=True),
    Sub("结果", survey_results, "/问卷 结果 <编号> —— 回收率和每题汇总（发起人或管理员，私聊发送）",
        private=True, secret=True),
    Sub("结束", end_survey, "/问卷 结束 <编号> —— 结束问卷，不再接受填写（发起人或管理员）",
        private=True),
))

__plugin_meta__ = PluginMetadata(
    name="投票与问卷",
    description="群内投票（可匿名、可设截止）和私聊逐题填写的问卷，结果进入支部报告",
    usage=usage_of(POLL, SURVEY),
    type="application",
    supported_adapters={"~onebot.v11"},
    extra={"keywords": ["投票", "问卷", "满意度", "poll", "survey"]},
)
register(__plugin_meta__.name, POLL, SURVEY)
hide_private_text()  # private ballots and survey answers never reach the log
