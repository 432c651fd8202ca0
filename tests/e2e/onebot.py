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
           "OneBotClient", "QQWorld", "bot_time", "event_time", "free_port", "message_text",
           "segment_types"]
