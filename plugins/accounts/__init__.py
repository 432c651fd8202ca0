"""QQ accounts and friends: which accounts serve the bot, friend requests and greetings."""

import asyncio

from nonebot import get_driver, on_notice, on_request
from nonebot.adapters.onebot.v11 import Bot, FriendRequestEvent, NoticeEvent
from nonebot.plugin import PluginMetadata

from config import BranchConfig
from runtime import accounts
from runtime.answers import judge_answers_by_their_body

__plugin_meta__ = PluginMetadata(
    name="QQ 账号与好友",
    description="记录每个 QQ 账号所在的群和好友，按设置自动通过成员的好友申请并发送欢迎语",
    usage="（无命令；/支部 状态 查看本支部的账号）",
    type="library",
    config=BranchConfig,
    supported_adapters={"~onebot.v11"},
)

judge_answers_by_their_body()
driver = get_driver()
_watch: list[asyncio.Task] = []


@driver.on_bot_connect
async def _connected(bot: Bot) -> None:
    await accounts.connected(bot)


@driver.on_bot_disconnect
async def _disconnected(bot: Bot) -> None:
    await accounts.disconnected(bot)


@driver.on_startup
async def _start_watch() -> None:
    _watch.append(asyncio.create_task(accounts.watch(), name="account-watch"))


@driver.on_shutdown
async def _stop_watch() -> None:
    for task in _watch:
        task.cancel()


# below the command router (priority 1), so commands never pay for these checks
notices = on_notice(priority=5, block=False)
requests = on_request(priority=5, block=False)


@notices.handle()
async def _notice(bot: Bot, event: NoticeEvent) -> None:
    await accounts.notice(bot, event)


@requests.handle()
async def _request(bot: Bot, event: FriendRequestEvent) -> None:
    await accounts.friend_request(bot, event)
