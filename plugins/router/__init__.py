"""The one matcher of the bot: routes every command through the sub-command tables."""

from nonebot import get_driver, on_message
from nonebot.adapters.onebot.v11 import Bot, MessageEvent
from nonebot.plugin import PluginMetadata
from nonebot.rule import Rule
from nonebot.typing import T_State

from domain.guard import Verdict
from runtime.router import Route, recorded, router

__plugin_meta__ = PluginMetadata(
    name="命令路由",
    description="把每条命令按各功能的子命令表分发到处理函数",
    usage="（内部组件，无命令）",
    type="library",
    supported_adapters={"~onebot.v11"},
)


async def is_for_us(event: MessageEvent, state: T_State) -> bool:
    """A command of this bot, or text for a conversation in progress; nothing else (and never
    what another of the bot's own accounts said in a group they share)."""
    if str(event.user_id) in get_driver().bots:
        return False
    route = router.match(event.get_message())
    conversation = router.conversation_for(event) if route is None else None
    if route is None and conversation is None:
        return False
    verdict = router.admit(event)  # duplicates and floods stop here, before any handler
    if verdict is None or verdict is Verdict.SILENT:
        return False
    if route is not None:
        state["zhibu_route"] = (route if verdict is Verdict.RUN
                                else Route(route.command, route.arg, too_fast=True))
        return True
    if verdict is Verdict.WARN:
        return False
    state["zhibu_conversation"] = conversation
    return True


commands = on_message(rule=Rule(is_for_us), priority=1, block=True)


@commands.handle()
async def route_command(bot: Bot, event: MessageEvent, state: T_State) -> None:
    if "zhibu_conversation" in state:
        await router.feed_conversation(bot, event, state["zhibu_conversation"])
    else:
        await router.dispatch(bot, event, recorded(state))
