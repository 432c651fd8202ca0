from nonebot import get_loaded_plugins
from nonebot.plugin import Plugin, PluginMetadata

from runtime.router import Call, Command, Sub, register, router, usage_of

# The menu's order, by feature name: what students use most first, administration last. A
# feature not listed here follows the listed ones, in module order.
MENU_ORDER = ("微心愿", "导学", "活动", "微典型", "微积分", "民情收集站", "任务清单", "投票与问卷",
              "成员", "岗位", "提醒与公告", "支部", "统计", "帮助")


def feature_plugins() -> list[Plugin]:
    """This bot's own feature plugins, in menu order (``MENU_ORDER``)."""
    found = [
        p for p in get_loaded_plugins()
        if p.metadata and p.metadata.type == "application" and p.module_name.startswith("plugins.")
    ]

    def place(plugin: Plugin) -> tuple[int, str]:
        name = plugin.metadata.name
        return (MENU_ORDER.index(name) if name in MENU_ORDER else len(MENU_ORDER),
                plugin.module_name)

    return sorted(found, key=place)


def find_feature(name: str) -> Plugin | None:
    name = name.strip().lstrip("/／").lower()
    for plugin in feature_plugins():
        meta = plugin.metadata
        keywords = [meta.name, *meta.extra.get("keywords", [])]
        if any(name == k.lower() for k in keywords):
            return plugin
    return None


def find_usage_lines(query: str) -> list[str]:
    """Usage lines for a command or sub-command: ``心愿 认领``, ``/提醒 添加``, ``认领``."""
    words = query.strip().lstrip("/／").split()
    if not words:
        return []
    command = router.commands.get(words[0])
    if command is not None:
        if len(words) > 1 and words[1] in command.by_word:
            return [command.by_word[words[1]].usage]
        return [command.usage()]
    return [sub.usage for _, sub in router.find_sub(words[0])]


async def show_help(call: Call):
    query = call.text
    if query:
        plugin = find_feature(query)
        if plugin is not None:
            meta = plugin.metadata
            return f"【{meta.name}】{meta.description}\n{meta.usage}"
        lines = find_usage_lines(query)
        if not lines:
            return f"没有叫「{query[:20]}」的功能或命令。发送 /帮助 查看菜单。"
        return "用法：\n" + "\n".join(lines)
    lines = ["支部助手 · 功能菜单"]
    lines += [f"· {p.metadata.name}：{p.metadata.description}" for p in feature_plugins()]
    lines.append("发送 /帮助 <功能> 查看用法，如 /帮助 心愿")
    guide = call.ctx.svc.settings.docs_url.strip()
    if guide:
        lines.append(f"同学指南（怎么用、有例子）：{guide}")
    return "\n".join(lines)


HELP = Command("帮助", aliases=("help",), subs=(
    Sub(None, show_help, "/帮助 [功能] —— 功能菜单；某个功能的用法，如 /帮助 心愿", private=True,
        setup=True),
))

__plugin_meta__ = PluginMetadata(
    name="帮助",
    description="功能菜单和每个功能的用法",
    usage=usage_of(HELP),
    type="application",
    supported_adapters={"~onebot.v11"},
    extra={"keywords": ["帮助", "help"]},
)
register(__plugin_meta__.name, HELP)
