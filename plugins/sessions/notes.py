"""/笔记 列表 and /笔记 我的: reading notes read back (the leader and admins; one's own)."""

from __future__ import annotations

from dataclasses import replace

from nonebot.adapters.onebot.v11 import Message, MessageSegment

from domain.notes import NoteService
from runtime.args import record_id
from runtime.reply import paginate, send_private, shorten
from runtime.router import Call, Handler, Sub, Usage

LIST_USAGE = ("/笔记 列表 <导学编号> —— 这场导学的全部读书笔记，私聊发给你（本场导学人和管理员）")
MINE_USAGE = "/笔记 我的 —— 我提交过的读书笔记"


def note_subs(submit: Handler) -> tuple[Sub, ...]:
    """The sub-commands that read notes. ``submit`` (the default, ``/笔记 <内容>``) takes a
    note that merely starts with 列表 or 我的."""

    async def as_note(call: Call):
        text = f"{call.sub.name} {call.text}"
        return await submit(replace(call, arg=Message(MessageSegment.text(text))))

    async def list_notes(call: Call):
        ctx = call.ctx
        target = record_id(call.tokens[0]) if len(call.tokens) == 1 else None
        if target is None:
            if ctx.branch is not None and len(call.text) >= ctx.svc.settings.note_min_length:
                return await as_note(call)
            raise Usage()
        service = NoteService(ctx.svc.sessions)
        session, notes = await service.of_session(
            target, ctx.actor, ctx.branch.id if ctx.branch is not None else None)
        clock = ctx.svc.clock
        title = f"{session.kind} #{session.id}「{session.topic}」{clock.format(session.starts_at)}"
        if not notes:
            return f"{title} 还没有人提交读书笔记。"
        names = await ctx.svc.branches.names(session.branch_id, [n.user_id for n in notes])
        lines = [f"{title} 的读书笔记（{len(notes)} 篇）"]
        for note in notes:
            lines.append(f"—— {names.get(note.user_id, note.user_id)}（{note.user_id}）"
                         f"{clock.format(note.created_at)}，{len(note.content)} 字")
            lines.append(note.content)
        pages = paginate(lines, ctx.svc.settings.reply_max_chars)
        if ctx.group_id is None:
            return pages
        for page in pages:
            if not await send_private(call.bot, ctx.user_id, ctx.group_id, page):
                return (f"读书笔记私聊发送失败，请加我为好友后私聊发送 /笔记 列表 #{session.id}。")
        return f"{session.kind} #{session.id} 的读书笔记（{len(notes)} 篇）已私聊发给你。"

    async def my_notes(call: Call):
        ctx = call.ctx
        if call.tokens:
            return await as_note(call)
        notes = await NoteService(ctx.svc.sessions).mine(ctx.branch.id, ctx.user_id)
        if not notes:
            return "你还没有提交过读书笔记。签到后发送 /笔记 <内容> 提交。"
        clock = ctx.svc.clock
        lines = [f"我的读书笔记（{len(notes)} 篇，新的在前）"]
        lines += [f"导学 #{n.session_id}「{shorten(n.topic, 16)}」"
                  f"{clock.format(n.created_at, '%m-%d')} · {len(n.content)} 字："
                  f"{shorten(n.content, 40)}" for n in notes]
        return paginate(lines, ctx.svc.settings.reply_max_chars)

    return (Sub("列表", list_notes, LIST_USAGE, private=True, secret=True),
            Sub("我的", my_notes, MINE_USAGE, own_branch=True))
