"""Files to the chat (exports, rosters) on every QQ side, or a clear reason why not.

``base64://`` carries the file inside the API call, so it reaches a QQ side on another machine
(NapCat and LLOneBot accept it). Lagrange.OneBot v1 opens ``file`` as a local path only and
reports a failed upload in the answer's ``status`` with ``data`` null (README, "QQ sides"): a
path is used only when the QQ side can read the bot's disk (``onebot_shares_filesystem``), and
success is judged by the answer's body (``runtime/answers.py``), never by the absence of an
exception alone.
"""

from __future__ import annotations

import base64
import contextlib
import shutil
from dataclasses import dataclass
from pathlib import Path

from nonebot import logger
from nonebot.adapters.onebot.v11 import Bot

from runtime import lifecycle
from runtime.outbox import error_text


@dataclass(frozen=True)
class Upload:
    """Where a file went (群文件 / 私聊文件), or None with the reason for the reply."""

    where: str | None
    reason: str = ""


def shared_copy(path: Path) -> Path:
    """A copy of ``path`` that another program on this machine can read (temporary folders
    are private to the bot's user): in the database's folder, under ``outgoing/``."""
    folder = Path(lifecycle.services().settings.branch_db_path).resolve().parent / "outgoing"
    folder.mkdir(parents=True, exist_ok=True)
    copy = folder / path.name
    shutil.copyfile(path, copy)
    copy.chmod(0o644)
    return copy


async def upload_file(bot: Bot, group_id: int | None, user_id: int, path: Path, name: str,
                      cli: str) -> Upload:
    """Upload to the group's files (``group_id``), else privately to ``user_id``.

    ``cli`` is the command that does the same on the server, named when nothing works.
    """
    settings = lifecycle.services().settings
    encoded = "base64://" + base64.b64encode(path.read_bytes()).decode("ascii")
    targets = []
    if group_id is not None:
        targets.append(("群文件", "upload_group_file", {"group_id": group_id}))
    targets.append(("私聊文件", "upload_private_file", {"user_id": user_id}))
    errors = []
    copy = shared_copy(path) if settings.onebot_shares_filesystem else None
    try:
        for where, action, target in targets:
            forms = [("base64", encoded)] + ([("path", str(copy))] if copy else [])
            for form, file in forms:
                try:
                    await bot.call_api(action, **target, file=file, name=name)
                except Exception as exc:
                    text, _ = error_text(exc)
                    errors.append(f"{action}({form}): {text[:120]}")
                    logger.warning(f"{action} with {form} refused: {text[:200]}")
                    continue
                return Upload(where)
    finally:
        if copy is not None:
            with contextlib.suppress(OSError):
                copy.unlink()
    logger.warning(f"no upload of {name} taken: {'; '.join(errors)}")
    if settings.onebot_shares_filesystem:
        reason = f"QQ 端没有接受这个文件。请在服务器上用命令生成：{cli}"
    else:
        reason = ("QQ 端没有接受这个文件（Lagrange.OneBot 只能按路径上传）。请在服务器上用命令"
                  f"生成：{cli}；若 QQ 端与机器人在同一台机器或共享目录，可设置 "
                  "ONEBOT_SHARES_FILESYSTEM=true 后重试。")
    return Upload(None, reason)
