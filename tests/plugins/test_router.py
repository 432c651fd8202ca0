"""The one router: what it dispatches, what it ignores, and that help lists exactly that."""

import re

import pytest
from nonebot.adapters.onebot.v11 import Bot, Message, MessageSegment

from tests.fakes import SELF_ID, Says, converse, group_message, private_message
from tests.plugins.conftest import HELPER


def matcher():
    from plugins.router import commands

    return commands


@pytest.mark.parametrize("content", [
    "大家好，今晚导学几点？",
    "签到 1234",  # no command start
    "/不存在的命令",
    "/helpme",  # an ASCII alias glued to more letters is another word
    "／",
    "",
])
async def test_non_commands_and_unknown_commands_run_no_handler(app, branch, content):
    async with app.test_matcher(matcher()) as ctx:
        bot = ctx.create_bot(base=Bot, self_id=SELF_ID)
        ctx.receive_event(bot, group_message(HELPER, content))
        ctx.should_not_pass_rule(matcher())
    # nonebug fails the test on any API call it was not told to expect, so no reply was sent


async def test_a_message_starting_with_an_image_is_not_a_command(app, branch):
    message = Message([MessageSegment.image("file:///x.png"), MessageSegment.text("/心愿")])
    async with app.test_matcher(matcher()) as ctx:
        bot = ctx.create_bot(base=Bot, self_id=SELF_ID)
        ctx.receive_event(bot, group_message(HELPER, message))
        ctx.should_not_pass_rule(matcher())


async def test_command_glued_to_its_argument_and_longest_name_first(app, branch):
    await converse(
        app,
        (group_message(HELPER, "/许愿借一把伞"), Says("心愿 #1 已发布：借一把伞")),
        (group_message(HELPER, "/积分榜"), Says("积分榜")),
        (group_message(HELPER, "/积分"), Says("积分：0")),
    )


def _usage_commands(line: str) -> tuple[str, str | None]:
    """``/心愿 认领 <编号> —— …`` → ("心愿", "认领"); ``/心愿 [列表] …`` → ("心愿", "列表")."""
    words = line.split(" —— ")[0].split()
    sub = words[1].strip("[]") if len(words) > 1 and not words[1].startswith(("<", "[@")) else None
    return words[0].lstrip("/"), sub


async def test_help_lists_every_dispatched_sub_command_and_nothing_else(app, services):
    from nonebot import get_loaded_plugins

    from runtime.router import resolve, router

    listed: set[tuple[str, str | None]] = set()
    for plugin in get_loaded_plugins():
        meta = plugin.metadata
        if not meta or meta.type != "application" or not plugin.module_name.startswith("plugins."):
            continue
        for line in meta.usage.splitlines():
            if line.startswith("/"):
                listed.add(_usage_commands(line))

    dispatched: set[tuple[str, str | None]] = set()
    for command in router.all_commands():
        for sub in command.subs:
            dispatched.add((command.name, sub.name))
            if sub.name is None:
                continue
            # typing the word reaches exactly this handler
            found, _, _, _ = resolve(command, Message(f"{sub.name} 1"))
            assert found is sub, f"/{command.name} {sub.name} does not dispatch"

    normalised = set()
    for name, sub_word in listed:
        command = router.commands[name]
        sub = command.by_word.get(sub_word) if sub_word else None
        if sub is None:
            sub = command.default_sub
        assert sub is not None, f"/{name} {sub_word} is listed in help but not dispatched"
        normalised.add((command.name, sub.name))
    assert normalised == dispatched


async def test_help_finds_a_sub_command_by_its_own_name(app, services):
    await converse(
        app,
        (group_message(HELPER, "/帮助 认领"), Says("/心愿 认领 <编号>")),
        (group_message(HELPER, "/帮助 提醒 添加"), Says("/提醒 添加 <时间> <内容>")),
        (private_message(HELPER, "/帮助"), Says("功能菜单")),
    )


async def test_usage_line_for_a_sub_command_and_whole_usage_for_an_unknown_word(app, branch):
    await converse(
        app,
        (group_message(HELPER, "/心愿 认领 x"), Says("用法：/心愿 认领 <编号>",
                                                    absent=("/心愿 放弃",))),
        (group_message(HELPER, "/导学 胡说"), Says("用法：", "/导学 发起", "/导学 补签")),
        (group_message(HELPER, "/统计 导出"), Says("只有支委、书记或群管理员")),
    )


def test_every_usage_line_names_its_command():
    from runtime.router import router

    for command in router.all_commands():
        for sub in command.subs:
            first = sub.usage.splitlines()[0]
            assert re.match(rf"^/({'|'.join(command.words)})\b", first), first
