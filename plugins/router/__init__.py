"""The one matcher of the bot: routes every command through the sub-command tables."""

from nonebot import on_message
from nonebot.adapters.onebot.v11 import Bot, MessageEvent
from nonebot.plugin import PluginMetadata
from nonebot.rule import Rule
from nonebot.typing import T_State

from runtime.router import recorded, router

__plugin_meta__ = PluginMetadata(
    name="命令路由",
    description="把每条命令按各功能的子命令表分发到处理函数",
    usage="（内部组件，无命令）",
    type="library",
    supported_adapters={"~onebot.v11"},
)


async def is_for_us(event: MessageEvent, state: T_State) -> bool:
    """A command of this bot, or text for a conversation in progress; nothing else."""
    route = router.match(event.get_message())
    if route is not None:
        state["zhibu_route"] = route
        return True
    conversation = router.conversation_for(event)
    if conversation is not None:
        state["zhibu_conversation"] = conversation
        return True
    return False


commands = on_message(rule=Rule(is_for_us), priority=1, block=True)


@commands.handle()
async def route_command(bot: Bot, event: MessageEvent, state: T_State) -> None:
    if "zhibu_conversation" in state:
        await router.feed_conversation(bot, event, state["zhibu_conversation"])
    else:
        await router.dispatch(bot, event, recorded(state))
