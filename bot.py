"""支部助手 entry point: init NoneBot, register the OneBot v11 adapter, load plugins, run."""

import nonebot

from runtime.adapter import Adapter

nonebot.init()
nonebot.get_driver().register_adapter(Adapter)
nonebot.load_from_toml("pyproject.toml")

if __name__ == "__main__":
    nonebot.run()
