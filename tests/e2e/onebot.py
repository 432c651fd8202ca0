"""The OneBot v11 side used by the end-to-end tests; it lives in ``tools/onebot.py`` (the
playground uses the same client), re-exported here for the tests and benchmarks."""

from tools.onebot import (
    BY_PROFILE,
    ROOT,
    SELF_ID,
    TOKEN,
    BotProcess,
    BotTime,
    OneBotClient,
    bot_time,
    event_time,
    free_port,
    message_text,
    segment_types,
)
from tools.qqprofiles import PROFILES
from tools.qqworld import QQWorld

__all__ = ["BY_PROFILE", "PROFILES", "ROOT", "SELF_ID", "TOKEN", "BotProcess", "BotTime",
           "OneBotClient", "QQWorld", "advance", "bot_time", "calls_until", "event_time",
           "exported_workbook", "free_port", "group_file", "message_text", "segment_types",
           "shown", "texts"]


async def shown(found, timeout: float = 20):
    """Wait until ``found()`` is truthy (what the simulated QQ shows); its value."""
    import asyncio
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = found()
        if value:
            return value
        await asyncio.sleep(0.05)
    raise AssertionError("QQ never showed what the test waited for")


async def calls_until(qq: OneBotClient, done, timeout: float = 30) -> list[dict]:
    """The bot's calls, as they come, until ``done(calls)`` holds."""
    calls: list[dict] = []
    while not done(calls):
        calls.append(await qq.next_call(timeout=timeout))
    return calls


def texts(calls: list[dict]) -> str:
    """The text of every message among ``calls``, one per line."""
    return "\n".join(message_text(c) for c in calls if "message" in c["params"])


async def advance(port: int, until: float) -> None:
    """Move the clock of a bot in playground mode to ``until``, its jobs running on the way."""
    from tools.playground import ClockApi

    clock = ClockApi(port, TOKEN)
    while not (await clock.advance(until)).get("done"):
        pass


def group_file(qq: OneBotClient, group_id: int, uploads: list[dict]) -> bytes:
    """The file the bot put in the group's file area: as the QQ side shows it (whatever form
    the bot sent it in: base64, or a path where the QQ side reads the bot's disk), or, for the
    always-yes client that keeps no files, the base64 of the last of ``uploads``."""
    import base64

    group = qq.world.groups.get(group_id)
    if group is not None and group.files:
        return group.files[-1].data
    return base64.b64decode(uploads[-1]["params"]["file"].removeprefix("base64://"))


async def exported_workbook(qq: OneBotClient, group_id: int, user_id: int):
    """``/统计 导出`` by an owner of the group: the workbook that lands in the group's files."""
    import io

    from openpyxl import load_workbook

    await qq.group_message(group_id, user_id, "/统计 导出", role="owner")
    calls = await calls_until(qq, lambda c: any(x["action"] == "send_msg" and "已上传群文件"
                                                in message_text(x) for x in c))
    uploads = [c for c in calls if c["action"] == "upload_group_file"]
    return load_workbook(io.BytesIO(group_file(qq, group_id, uploads)))
