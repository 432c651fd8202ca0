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

__all__ = ["ROOT", "SELF_ID", "TOKEN", "BotProcess", "BotTime", "OneBotClient", "bot_time",
           "event_time", "free_port", "message_text", "segment_types"]
