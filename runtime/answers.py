"""Every OneBot answer is judged by its body.

NoneBot's OneBot adapter raises only when an answer's ``status`` is "failed". Real QQ sides
fail in other shapes too (README, "QQ sides"): Lagrange.OneBot reports a failed upload with its
error text in ``status`` and ``data`` null, and a failed friend approval as ``status`` "ok" with
``retcode`` 1. So an answer is a success only when its status is "ok" (or absent) and its
retcode is 0 (or absent); anything else raises ``ActionFailed`` with the whole answer.
"""

from __future__ import annotations

from typing import Any

from nonebot.adapters.onebot.v11 import ActionFailed
from nonebot.adapters.onebot.v11 import adapter as onebot_adapter


def judged(result: dict[str, Any] | None) -> Any:
    """The answer's data, or ``ActionFailed`` when its body says it failed."""
    if isinstance(result, dict):
        status = result.get("status", "ok")
        retcode = result.get("retcode", 0)
        if status != "ok" or str(retcode) not in ("0", "None"):
            raise ActionFailed(**result)
        return result.get("data")
    return result


def judge_answers_by_their_body() -> None:
    """Make the adapter use ``judged`` for every API answer (idempotent)."""
    onebot_adapter.handle_api_result = judged
