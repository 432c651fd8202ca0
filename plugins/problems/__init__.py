"""民情收集站: /反映 and /民情 — parse, check, call ProblemService, format.

Privacy: a reply in a group shows a problem's content (and its solution, reason or where it was
escalated to) only when the group may see it (raised in the group, not anonymous); otherwise the
group is told only "民情 #N 已…". The people involved hear the rest privately through the
outgoing queue. In a private chat the problem number tells the branch.
"""

from __future__ import annotations

from nonebot import logger, require
from nonebot.plugin import PluginMetadata

from domain.errors import DomainError
from domain.models import Problem
from domain.outbox import text_segment
from domain.problems import Viewer, can_see_content, split_branch_word, split_category
from domain.timeparse import parse_moment, parse_schedule
from runtime.args import integer, person, record_id, word
from runtime.lifecycle import on_ready, services
from runtime.privacy import hide_private_text
from runtime.reply import paginate, shorten
from runtime.router import Call, Command, Sub, Usage, register, usage_of

require("nonebot_plugin_apscheduler")
from apscheduler.triggers.cron import CronTrigger  # noqa: E402
from nonebot_plugin_apscheduler import scheduler  # noqa: E402

ANONYMOUS_WORD = "匿名"


# parsing ---------------------------------------------------------------------------------


def split_anonymous(text: str) -> tuple[str, bool]:
    """The text without a trailing (or leading) word 匿名, and whether it was there."""
    parts = text.rsplit(maxsplit=1)
    if len(parts) == 2 and parts[1] == ANONYMOUS_WORD:
        return parts[0].strip(), True
    parts = text.split(maxsplit=1)
    if parts and parts[0] == ANONYMOUS_WORD:
        return (parts[1] if len(parts) > 1 else "").strip(), True
    return text, False


def problem_number(call: Call, min_tokens: int = 1, max_tokens: int | None = None) -> int:
    """The ``#N`` after the sub-command, with the token count checked, or the usage line."""
    tokens = call.tokens
    found = record_id(tokens[0]) if tokens else None
    if found is None or len(tokens) < min_tokens or (max_tokens and len(tokens) > max_tokens):
        raise Usage()
    return found


def required_text(call: Call) -> str:
    """The text after ``#N`` (a note, reason or destination), or the usage line."""
    text = call.rest(1)
    if not text:
        raise Usage()
    return text


async def locate(call: Call, problem_id: int) -> tuple[Problem, Viewer]:
    """The problem (of this group's branch, or in a private chat the one the number names and
    the asker may see) and the audience of the reply."""
    ctx = call.ctx
    problems = ctx.svc.problems
    if ctx.branch is not None:
        problem = await problems.get(ctx.branch.id, problem_id)
    else:
        problem = await problems.find_for(problem_id, ctx.actor)
    viewer = await problems.viewer(problem.branch_id, ctx.actor, in_group=ctx.group_id is not None)
    return problem, viewer


async def private_branch(call: Call, text: str) -> tuple[int, str]:
    """In a group its branch; in a private chat the asker's branch (``支部#N`` first when they
    are registered in several). Returns (branch id, the text after the branch word)."""
    ctx = call.ctx
    if ctx.branch is not None:
        return ctx.branch.id, text
    branch_no, rest = split_branch_word(text)
    branch = await ctx.svc.problems.branch_for_private(ctx.user_id, branch_no)
    return branch.id, rest


async def handler_name(call: Call, problem: Problem) -> str:
    if problem.handler_id is None:
        return "—"
    names = await call.ctx.svc.problems.names_for(problem.branch_id, [problem])
    return names.get(problem.handler_id, str(problem.handler_id))


def title(problem: Problem, viewer: Viewer) -> str:
    """``民情 #N「content…」`` when ``viewer`` may see the content, else ``民情 #N `` ."""
    if can_see_content(problem, viewer):
        return f"民情 #{problem.id}「{shorten(problem.content)}」"
    return f"民情 #{problem.id} "


async def require_admin_in_group(call: Call) -> None:
    """Admin-only sub-commands: refused before parsing in a group; in a private chat the
    domain checks against the problem's branch."""
    if call.ctx.branch is not None:
        await call.ctx.require_admin()


# raising ---------------------------------------------------------------------------------


async def raise_problem(call: Call):
    ctx = call.ctx
    problems = ctx.svc.problems
    if not call.rest():
        raise Usage()
    branch_id, text = await private_branch(call, call.rest())
    text, anonymous = split_anonymous(text)
    if not split_category(text, ctx.svc.settings.problem_categories)[1]:
        raise Usage()
    problem = await problems.raise_problem(branch_id, ctx.group_id, ctx.user_id, text,
                                           anonymous)
    tag = f"民情 #{problem.id} [{problem.category}]" + ("（匿名）" if anonymous else "")
    follow = f"可发送 /民情 详情 #{problem.id} 查看进度。"
    if problem.private:
        return (f"已收到你的反映：{tag}\n{problem.content}\n"
                "内容只有支委和处理人能看到，群里不会显示；受理、解决时我会私聊告诉你。" + follow)
    if anonymous:
        return (f"已收到{tag}，群里不显示内容和反映人，进展会私聊告诉你。{follow}\n"
                "不便公开的问题也可以私聊我发送 /反映 <内容>。")
    return f"已收到{tag}：{shorten(problem.content)}\n支委会尽快受理。{follow}"


# reading ---------------------------------------------------------------------------------


async def list_problems(call: Call):
    ctx = call.ctx
    problems = ctx.svc.problems
    if ctx.branch is not None:
        branch_id = ctx.branch.id
        words = [word(call.tokens, i) for i in range(len(call.tokens))]
    else:
        branch_id, rest = await private_branch(call, call.text)
        words = rest.split()
    page = 1
    if words and (number := integer(words[-1])) is not None:
        page = number
        words = words[:-1]
    if len(words) > 1 or None in words or page < 1:
        raise Usage()
    filter_word = words[0] if words else None
    result = await problems.list_page(branch_id, filter_word, page)
    if not result.total:
        return (f"没有{result.label}的民情。有问题请发送 /反映 <内容>（也可以私聊我，"
                "可加“匿名”）。")
    viewer = await problems.viewer(branch_id, ctx.actor, in_group=ctx.group_id is not None)
    names = await problems.names_for(branch_id, result.problems)
    lines = [f"民情·{result.label}（第 {result.page}/{result.pages} 页，共 {result.total} 个）"]
    lines += [problems.line(p, viewer, names) for p in result.problems]
    if result.page < result.pages:
        lines.append(f"下一页：/民情 列表 {filter_word + ' ' if filter_word else ''}"
                     f"{result.page + 1}")
    return paginate(lines, ctx.svc.settings.reply_max_chars)


async def problem_list(call: Call):
    ctx = call.ctx
    problems = ctx.svc.problems
    branch_id, rest = await private_branch(call, call.text)
    if rest:
        raise Usage()
    plist = await problems.problem_list(branch_id)
    viewer = await problems.viewer(branch_id, ctx.actor, in_group=ctx.group_id is not None)
    return paginate(problems.render_list(plist, viewer).split("\n"),
                    ctx.svc.settings.reply_max_chars)


async def problem_details(call: Call):
    ctx = call.ctx
    problems = ctx.svc.problems
    problem, viewer = await locate(call, problem_number(call, 1, 1))
    events = await problems.history(problem)
    names = await problems.names_for(problem.branch_id, [problem], events)
    text = problems.render_detail(problem, events, viewer, names)
    if viewer.is_group and not can_see_content(problem, viewer):
        own = await problems.viewer(problem.branch_id, ctx.actor, in_group=False)
        if can_see_content(problem, own):  # an admin, the reporter or the handler
            full = problems.render_detail(problem, events, own, names)
            await ctx.svc.outbox.to_user(ctx.user_id, [text_segment(full)], "problem_detail",
                                         via_group_id=ctx.group_id, branch_id=problem.branch_id)
            text += "\n完整内容已私聊发给你。"
    return paginate(text.split("\n"), ctx.svc.settings.reply_max_chars)


# the problem's life ----------------------------------------------------------------------


async def take_on(call: Call):
    ctx = call.ctx
    problems = ctx.svc.problems
    target = problem_number(call, 1, 2)
    handler = None
    if len(call.tokens) == 2:
        handler = person(call.tokens[1])
        if handler is None:
            raise Usage()
    problem, viewer = await locate(call, target)
    problem = await problems.take_on(problem.branch_id, problem.id, ctx.actor, handler)
    name = await handler_name(call, problem)
    reply = f"{title(problem, viewer)}已受理，处理人：{name}。"
    if problem.handler_id == ctx.user_id:
        reply += f"\n处理后发送 /民情 解决 #{problem.id} <说明>。"
    return reply


async def private_notes_only(call: Call, problem: Problem, viewer: Viewer) -> None:
    """A note on a problem the group may not see (raised privately or anonymously) is typed
    privately: in a group the command is refused and its message recalled where the bot may,
    so neither the group nor the log keeps it."""
    if viewer.is_group and not can_see_content(problem, viewer):
        recalled = "你的消息已撤回，" if await call.recall() else ""
        raise DomainError(f"民情 #{problem.id} 的内容不在群里公开，{recalled}请私聊我发送 "
                          f"/民情 {call.sub.name} #{problem.id} <说明>。")


async def report_progress(call: Call):
    ctx = call.ctx
    problems = ctx.svc.problems
    target = problem_number(call, 2)
    note = required_text(call)
    problem, viewer = await locate(call, target)
    await private_notes_only(call, problem, viewer)
    problem = await problems.progress(problem.branch_id, problem.id, ctx.actor, note)
    return f"已记录民情 #{problem.id} 的进展，反映人会收到私聊通知。"


async def solve(call: Call):
    ctx = call.ctx
    problems = ctx.svc.problems
    target = problem_number(call, 2)
    note = required_text(call)
    problem, viewer = await locate(call, target)
    await private_notes_only(call, problem, viewer)
    # the reporter is told with the change: @-mentioned here where the group may see the
    # problem, else privately
    problem = await problems.solve(problem.branch_id, problem.id, ctx.actor, note,
                                   group_id=ctx.group_id)
    if viewer.is_group and can_see_content(problem, viewer):
        return f"{title(problem, viewer)}已解决，已提醒反映人确认。"
    if viewer.is_group:
        return f"民情 #{problem.id} 已解决。"
    return f"民情 #{problem.id} 已标记解决，已私聊通知反映人确认。"


async def confirm(call: Call):
    ctx = call.ctx
    problems = ctx.svc.problems
    target = problem_number(call, 2)
    score = integer(word(call.tokens, 1))
    if score is None or not 1 <= score <= 5:
        raise Usage()
    problem, _ = await locate(call, target)
    done = await problems.confirm(problem.branch_id, problem.id, ctx.user_id, score,
                                  call.rest(2) or None)
    reply = f"感谢确认！民情 #{done.problem.id} 已办结（{score} 分）"
    if done.points:
        reply += f"，处理人 {await handler_name(call, done.problem)} 获得 {done.points} 积分"
    return reply + "。"


async def reopen(call: Call):
    ctx = call.ctx
    problems = ctx.svc.problems
    target = problem_number(call, 2)
    reason = required_text(call)
    problem, _ = await locate(call, target)
    problem = await problems.reopen(problem.branch_id, problem.id, ctx.user_id, reason)
    return (f"民情 #{problem.id} 已重开，回到处理中，处理人 {await handler_name(call, problem)} "
            "会继续跟进。")


async def reassign(call: Call):
    ctx = call.ctx
    problems = ctx.svc.problems
    await require_admin_in_group(call)
    target = problem_number(call, 2, 2)
    handler = person(call.tokens[1])
    if handler is None:
        raise Usage()
    problem, _ = await locate(call, target)
    problem = await problems.reassign(problem.branch_id, problem.id, ctx.actor, handler)
    return f"民情 #{problem.id} 已转办给 {await handler_name(call, problem)}。"


async def escalate(call: Call):
    ctx = call.ctx
    problems = ctx.svc.problems
    await require_admin_in_group(call)
    target = problem_number(call, 2)
    destination = required_text(call)
    problem, viewer = await locate(call, target)
    problem = await problems.escalate(problem.branch_id, problem.id, ctx.actor, destination)
    where = f"至 {problem.escalated_to}" if can_see_content(problem, viewer) else ""
    return (f"民情 #{problem.id} 已上报{where}。有结果后发送 /民情 解决 #{problem.id} <结果> "
            "记录。")


async def close(call: Call):
    ctx = call.ctx
    problems = ctx.svc.problems
    await require_admin_in_group(call)
    target = problem_number(call, 2)
    reason = required_text(call)
    problem, viewer = await locate(call, target)
    problem = await problems.close(problem.branch_id, problem.id, ctx.actor, reason)
    why = f"：{problem.close_reason}" if can_see_content(problem, viewer) else ""
    return f"民情 #{problem.id} 已关闭{why}。"


FEEDBACK = Command("反映", aliases=("feedback",), subs=(
    Sub(None, raise_problem,
        "/反映 [分类] <内容> [匿名] —— 反映问题（报修、学业、生活、心理、其他）；可私聊机器人，"
        "私聊时内容只有支委和处理人可见；在多个支部登记时写 /反映 支部#编号 …",
        private=True, creates=True),
))
PROBLEMS = Command("民情", subs=(
    Sub("列表", list_problems,
        "/民情 [列表] [状态|分类|全部] [页码] —— 未办结的民情，或按状态、分类",
        default=True, private=True),
    Sub("详情", problem_details, "/民情 详情 <编号> —— 民情详情和处理经过", private=True,
        secret=True),
    Sub("受理", take_on,
        "/民情 受理 <编号> [@处理人] —— 受理民情（支委指派处理人；入党积极分子及以上可自己受理）",
        private=True),
    Sub("进展", report_progress, "/民情 进展 <编号> <说明> —— 处理人或支委报告进展", private=True),
    Sub("解决", solve, "/民情 解决 <编号> <说明> —— 处理人或支委标记已解决", private=True),
    Sub("确认", confirm, "/民情 确认 <编号> <1-5> [评语] —— 反映人确认解决并评分", private=True),
    Sub("重开", reopen, "/民情 重开 <编号> <原因> —— 反映人在解决后若干天内重开", private=True),
    Sub("转办", reassign, "/民情 转办 <编号> <@某人> —— 管理员换处理人", private=True),
    Sub("上报", escalate, "/民情 上报 <编号> <去向> —— 管理员上报到支部以外（如社区办、维修）",
        private=True),
    Sub("关闭", close, "/民情 关闭 <编号> <原因> —— 管理员关闭（重复、非支部事务等）",
        private=True),
    Sub("清单", problem_list, "/民情 清单 —— 问题清单：未解决的（最久的在前）和本周已解决的",
        private=True),
))

__plugin_meta__ = PluginMetadata(
    name="民情收集站",
    description="反映问题（可私聊、可匿名），受理、跟进、解决、确认，问题清单和响应用时",
    usage=usage_of(FEEDBACK, PROBLEMS),
    type="application",
    supported_adapters={"~onebot.v11"},
    extra={"keywords": ["民情", "反映", "民情收集站", "问题清单", "报修", "feedback"]},
)
register(__plugin_meta__.name, FEEDBACK, PROBLEMS)
hide_private_text()  # a problem raised privately never reaches the log


# scheduled jobs (everything they send goes through the outgoing queue) ---------------------


async def auto_confirm_problems() -> None:
    """已解决 problems nobody objected to within ``problem_confirm_days``: 已办结, unrated."""
    problems = services().problems
    done = await problems.auto_confirm_due()  # each handler is told in the same transaction
    if done:
        logger.info(f"{len(done)} problems confirmed automatically")


async def remind_overdue_problems() -> None:
    queued = await services().problems.queue_overdue_reminders()
    logger.info(f"overdue problems: {queued.total} reminders queued")


async def post_weekly_problems() -> None:
    queued = await services().problems.queue_weekly()
    logger.info(f"weekly problem list: {queued} messages queued")


@on_ready
async def arm_problem_jobs(svc) -> None:
    """Built-in jobs, re-armed at every start; auto-confirmation also catches up at once."""
    settings = svc.settings
    grace = settings.misfire_grace_minutes * 60
    scheduler.add_job(
        auto_confirm_problems, "interval", id="problem_auto_confirm", replace_existing=True,
        minutes=settings.problem_auto_confirm_interval_minutes, coalesce=True,
        misfire_grace_time=None,
    )
    remind_at, _ = parse_moment(settings.problem_overdue_remind_time, svc.clock.now())
    scheduler.add_job(
        remind_overdue_problems, CronTrigger(hour=remind_at.hour, minute=remind_at.minute,
                                             timezone=svc.clock.tz),
        id="problem_overdue", replace_existing=True, coalesce=True, misfire_grace_time=grace,
    )
    if settings.problem_weekly_enabled:
        schedule, _ = parse_schedule(settings.problem_weekly_time, svc.clock.now())
        scheduler.add_job(post_weekly_problems, schedule.trigger(svc.clock.tz),
                          id="problem_weekly", replace_existing=True, coalesce=True,
                          misfire_grace_time=grace)
    await auto_confirm_problems()
