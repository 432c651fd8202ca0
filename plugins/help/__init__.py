from nonebot import get_loaded_plugins, on_command
from nonebot.adapters.onebot.v11 import Message
from nonebot.params import CommandArg
from nonebot.plugin import Plugin, PluginMetadata

from runtime.args import plain_text
from runtime.context import guarded
from runtime.reply import text

__plugin_meta__ = PluginMetadata(
    name="帮助",
    description="功能菜单和每个功能的用法",
    usage="/帮助 —— 功能菜单\n/帮助 <功能> —— 某个功能的用法，如 /帮助 心愿",
    type="application",
    supported_adapters={"~onebot.v11"},
    extra={"keywords": ["帮助", "help"]},
)

help_cmd = on_command("帮助", aliases={"help"}, priority=5, block=True)


def feature_plugins() -> list[Plugin]:
    """This bot's own feature plugins, in a stable order."""
    found = [
        p for p in get_loaded_plugins()
        if p.metadata and p.metadata.type == "application" and p.module_name.startswith("plugins.")
    ]
    return sorted(found, key=lambda p: p.module_name)


def find_feature(name: str) -> Plugin | None:
    name = name.strip().lstrip("/／").lower()
    for plugin in feature_plugins():
        meta = plugin.metadata
        keywords = [meta.name, *meta.extra.get("keywords", [])]
        if any(name == k.lower() for k in keywords):
            return plugin
    return None


@help_cmd.handle()
@guarded
async def show_help(arg: Message = CommandArg()):
    query = plain_text(arg)
    if query:
        plugin = find_feature(query)
        if plugin is None:
            await help_cmd.finish(text(f"没有叫「{query[:20]}」的功能。发送 /帮助 查看菜单。"))
        await help_cmd.finish(text(f"【{plugin.metadata.name}】{plugin.metadata.description}\n"
                                   f"{plugin.metadata.usage}"))
    lines = ["支部助手 · 功能菜单"]
    lines += [f"· {p.metadata.name}：{p.metadata.description}" for p in feature_plugins()]
    lines.append("发送 /帮助 <功能> 查看用法，如 /帮助 心愿")
    await help_cmd.finish(text("\n".join(lines)))
