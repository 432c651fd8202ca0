"""The OneBot v11 side used by the end-to-end tests; it lives in ``tools/onebot.py`` (the
playground uses the same client), re-exported here for the tests and benchmarks."""

from tools.onebot import (
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

__all__ = ["ROOT", "SELF_ID", "TOKEN", "BotProcess", "BotTime", "OneBotClient", "advance",
           "bot_time", "calls_until", "event_time", "exported_workbook", "free_port",
           "message_text", "segment_types", "texts"]


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


async def exported_workbook(qq: OneBotClient, group_id: int, user_id: int):
    """``/统计 导出`` by an owner of the group: the workbook the bot uploads (base64)."""
    import base64
    import io

    from openpyxl import load_workbook

    await qq.group_message(group_id, user_id, "/统计 导出", role="owner")
    calls = await calls_until(qq, lambda c: any(x["action"] == "upload_group_file" for x in c))
    upload = next(c for c in calls if c["action"] == "upload_group_file")
    return load_workbook(io.BytesIO(base64.b64decode(upload["params"]["file"][9:])))
