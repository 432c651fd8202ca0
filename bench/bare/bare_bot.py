"""The baseline for bench/command_burst.py: a bare NoneBot bot answering one on_command."""

import nonebot
from nonebot import on_command
from nonebot.adapters.onebot.v11 import Adapter, Message, MessageSegment

nonebot.init(driver="~fastapi", command_start={"/"})
nonebot.get_driver().register_adapter(Adapter)

ping = on_command("ping")


@ping.handle()
async def answer():
    await ping.finish(Message(MessageSegment.text("pong")))


if __name__ == "__main__":
    nonebot.run()
