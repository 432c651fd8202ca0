"""The baseline for bench/checkin_burst.py: a bare NoneBot bot answering one on_command."""

import nonebot
from nonebot import on_command
from nonebot.adapters.onebot.v11 import Adapter, Message, MessageSegment

nonebot.init(driver="~fastapi", command_start={"/"})
nonebot.get_driver().register_adapter(Adapter)

checkin = on_command("签到")


@checkin.handle()
async def answer():
    await checkin.finish(Message(MessageSegment.text("签到成功")))


if __name__ == "__main__":
    nonebot.run()
