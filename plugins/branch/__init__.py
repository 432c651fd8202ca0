from nonebot.plugin import PluginMetadata

from domain.errors import Forbidden
from runtime.accounts import implementation_label
from runtime.args import record_id
from runtime.backups import backup_service
from runtime.router import Call, Command, Sub, Usage, register, usage_of
from storage.backup import BackupError


async def branch_info(call: Call):
    if call.tokens:
        raise Usage()
    branch = call.ctx.branch
    info = await call.ctx.svc.branches.info(branch)
    groups = "、".join(str(g) for g in info["groups"])
    return (f"支部 #{branch.id}「{branch.name}」\n"
            f"绑定的群：{groups}\n"
            f"当前学期：{info['term'].name}\n"
            f"成员 {info['members']} 人 · 心愿 {info['wishes']} 个"
            f"（已完成 {info['wishes_completed']}）")


async def bind_group(call: Call):
    target = record_id(call.tokens[0]) if len(call.tokens) == 1 else None
    if target is None:
        raise Usage()
    bound = await call.ctx.svc.branches.bind(call.ctx.group_id, target, call.ctx.actor)
    lines = [f"本群已并入支部 #{bound.id}「{bound.name}」，之后的心愿、积分等都记在该支部。"]
    if bound.source is not None:
        moved = bound.summary()
        old = f"原支部 #{bound.source.id}「{bound.source.name}」"
        if moved:
            shared = (f"（其中 {bound.shared} 人原已在本支部登记，档案已合并）"
                      if bound.shared else "")
            lines.append(f"{old}的记录已一并转入：{moved}{shared}。")
        if bound.other_groups:
            lines.append(f"{old}的其他群也一并并入："
                         + "、".join(str(g) for g in bound.other_groups) + "。")
    return "\n".join(lines)


async def create_branch(call: Call):
    name = call.rest()
    if not name:
        raise Usage()
    ctx = call.ctx
    branch = await ctx.svc.branches.create_branch(ctx.group_id, ctx.actor, name)
    return (f"已创建支部 #{branch.id}「{branch.name}」，本群是它的第一个群。\n"
            f"下一步：楼层群的群主发送 /支部 绑定 #{branch.id} 并入本支部；成员发送 /登记 <姓名> "
            "[楼层] [宿舍]；书记用 /成员 设置 @某人 书记 设置支委和书记。")


async def rename_branch(call: Call):
    name = call.rest()
    if not name:
        raise Usage()
    renamed = await call.ctx.svc.branches.rename(call.ctx.branch, call.ctx.actor, name)
    return f"支部已改名为「{renamed.name}」。"


async def backup_now(call: Call):
    if call.tokens:
        raise Usage()
    if not call.ctx.actor.is_superuser:
        raise Forbidden("只有超级管理员（SUPERUSERS）可以备份数据库。")
    try:
        result = await backup_service(call.ctx.svc).run()
    except (BackupError, OSError) as exc:
        return f"备份失败：{exc}"
    pruned = f"\n按保留份数删除了 {len(result.pruned)} 份较旧的备份。" if result.pruned else ""
    if call.ctx.group_id is not None:  # the server's folders are nobody else's business
        return (f"已备份（{result.path.name}，已通过完整性检查），完整路径请私聊我发送 "
                f"/支部 备份。{pruned}")
    return f"已备份到 {result.describe()}{pruned}"


async def branch_status(call: Call):
    """The QQ accounts serving this branch's groups, and its queue."""
    if call.tokens:
        raise Usage()
    ctx = call.ctx
    svc = ctx.svc
    clock = svc.clock
    now = clock.timestamp()
    groups = await svc.branches.groups(ctx.branch.id)
    lines = [f"支部 #{ctx.branch.id} 的 QQ 账号（本支部 {len(groups)} 个群）："]
    serving = [a for a in svc.accounts.all()
               if any(a.in_group(g) for g in groups) or (a.connected and a.groups is None)]
    for account in serving:
        inside = [g for g in groups if a_in(account, g)]
        state = "在线" if account.connected else f"离线（{clock.format(account.changed_at)} 起）"
        parts = [f"· QQ {account.self_id} "
                 f"{implementation_label(account.app_name, account.app_version)}：{state}",
                 f"在 {len(inside)}/{len(groups)} 个群",
                 f"近一小时发送 {account.sends_last_hour(now)} 条"]
        if account.paused(now):
            parts.append(f"暂停至 {clock.format(account.paused_until)}（{account.pause_reason}）")
        muted = [g for g in groups if account.muted_in(g, now)]
        if muted:
            parts.append("被禁言：" + "、".join(
                f"{g} 至 {clock.format(account.muted[g])}" for g in muted))
        lines.append("；".join(parts))
    if not serving:
        lines.append("· 还没有账号连接到机器人。")
    orphans = [g for g in groups if not svc.accounts.for_group(g, now)]
    if orphans:
        lines.append("此刻无账号能在这些群发言（消息会排队等待）：" + "、".join(map(str, orphans)))
    pending, oldest = await svc.outbox.repo.pending_summary(ctx.branch.id)
    waited = f"，最早的已等 {int((now - oldest) // 60)} 分钟" if pending and oldest else ""
    lines.append(f"待发送：{pending} 条{waited}。")
    return "\n".join(lines)


def a_in(account, group_id: int) -> bool:
    return bool(account.in_group(group_id)) or (account.groups is None and account.connected)


BRANCH = Command("支部", aliases=("branch",), subs=(
    Sub("信息", branch_info, "/支部 信息 —— 支部名称、编号、绑定的群和人数", aliases=("info",),
        default=True),
    Sub("创建", create_branch, "/支部 创建 <名称> —— 把本群设为一个新支部（本群群主或管理员）",
        aliases=("create",), setup=True),
    Sub("绑定", bind_group, "/支部 绑定 <支部编号> —— 把本群并入已有支部，本群已有的成员、"
        "心愿和积分一并转入（需本群群主/管理员，且是该支部支委/书记或其群的群主/管理员），"
        "如 /支部 绑定 #1", aliases=("bind",), setup=True),
    Sub("命名", rename_branch, "/支部 命名 <名称> —— 修改支部名称（管理员）",
        aliases=("rename",), admin=True),
    Sub("备份", backup_now, "/支部 备份 —— 立即备份数据库并告知位置（超级管理员）",
        aliases=("backup",), private=True, setup=True, secret=True),
    Sub("状态", branch_status, "/支部 状态 —— 为本支部服务的 QQ 账号：在线、所在群、暂停、待发送"
        "（管理员）", aliases=("status",), admin=True),
))

__plugin_meta__ = PluginMetadata(
    name="支部",
    description="支部信息、绑定楼层群、命名",
    usage=usage_of(BRANCH),
    type="application",
    supported_adapters={"~onebot.v11"},
    extra={"keywords": ["支部", "branch"]},
)
register(__plugin_meta__.name, BRANCH)
