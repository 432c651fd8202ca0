"""Roster files through the QQ side: the latest .xlsx/.csv in a group's files, and uploads.

Group files are read with the go-cqhttp extension actions that NapCat, Lagrange.OneBot and
LLOneBot implement: ``get_group_root_files`` (the files in the root folder, where a file sent
in the chat lands) and ``get_group_file_url`` (a download URL), falling back to NapCat's
``get_file`` (a local path, a URL or base64). A QQ side without them gets a clear answer
pointing to ``python -m tools.roster``.
"""

from __future__ import annotations

import asyncio
import base64
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from nonebot import logger
from nonebot.adapters.onebot.v11 import Bot

from domain.errors import DomainError

ROSTER_SUFFIXES = (".xlsx", ".csv")
DOWNLOAD_TIMEOUT_SECONDS = 30
NO_FILE_API = ("QQ 端不支持读取群文件。请把名册交给管理服务器的同学，用命令导入："
               "python -m tools.roster import 名册.xlsx --branch {branch}")
# NapCat lists 50 root files unless asked for more (README, "QQ sides")
ROOT_FILE_COUNT = 1000
NOT_READABLE = ("QQ 端把群文件「{name}」存在它自己的磁盘上，机器人读不到。请任选其一：在 NapCat 的 "
                "OneBot 设置里打开 enableLocalFile2Url；或让 QQ 端与机器人共享数据目录并设置 "
                "ONEBOT_SHARES_FILESYSTEM=true；或在服务器上用命令导入："
                "python -m tools.roster import 名册.xlsx --branch {branch}")


@dataclass(frozen=True)
class GroupFile:
    file_id: str
    name: str
    busid: int | None
    size: int
    uploaded_at: int
    uploader: int | None


def _group_file(item: dict) -> GroupFile | None:
    name = str(item.get("file_name") or item.get("name") or "")
    file_id = item.get("file_id") or item.get("id")
    if not name or not file_id:
        return None
    size = item.get("file_size") or item.get("size") or 0
    uploader = item.get("uploader")
    return GroupFile(file_id=str(file_id), name=name,
                     busid=int(item["busid"]) if str(item.get("busid", "")).isdigit() else None,
                     size=int(size) if str(size).isdigit() else 0,
                     uploaded_at=int(item.get("upload_time") or item.get("modify_time") or 0),
                     uploader=int(uploader) if str(uploader or "").isdigit() else None)


async def latest_roster_file(bot: Bot, group_id: int, branch_id: int,
                             wanted: str | None = None) -> GroupFile:
    """The newest .xlsx/.csv in the group's root folder (or the one named ``wanted``)."""
    try:
        listing = await bot.call_api("get_group_root_files", group_id=group_id,
                                     file_count=ROOT_FILE_COUNT)
    except Exception as exc:
        logger.info(f"get_group_root_files failed in {group_id}: {exc}")
        raise DomainError(NO_FILE_API.format(branch=branch_id)) from exc
    items = (listing.get("files") or []) if isinstance(listing, dict) else []
    files = [f for f in (_group_file(i) for i in items if isinstance(i, dict)) if f is not None
             and f.name.lower().endswith(ROSTER_SUFFIXES)]
    if wanted:
        files = [f for f in files if wanted in f.name]
    if not files:
        what = f"名为「{wanted[:40]}」的" if wanted else ""
        raise DomainError(f"群文件里没有找到{what} .xlsx 或 .csv 名册。请先把名册上传到群文件"
                          "（发到群里即可），再发送 /成员 导入。")
    return max(files, key=lambda f: (f.uploaded_at, f.name))


async def download_group_file(bot: Bot, group_id: int, found: GroupFile, max_bytes: int,
                              branch_id: int) -> bytes:
    """The file's bytes: by the URL the QQ side gives, a local path it names, or base64."""
    if found.size > max_bytes:
        raise DomainError(_too_big(max_bytes))
    answers = []
    params = {"group_id": group_id, "file_id": found.file_id}
    if found.busid is not None:
        params["busid"] = found.busid
    for action, kwargs in (("get_group_file_url", params), ("get_file",
                                                             {"file_id": found.file_id})):
        try:
            answer = await bot.call_api(action, **kwargs)
        except Exception as exc:
            logger.info(f"{action} failed for {found.name}: {exc}")
            continue
        if isinstance(answer, dict):
            answers.append(answer)
            data = await _bytes_of(answer, max_bytes)
            if data is not None:
                return data
    if not answers:
        raise DomainError(NO_FILE_API.format(branch=branch_id))
    if any(_local_path(a) for a in answers):  # a path on the QQ side's disk, not ours
        raise DomainError(NOT_READABLE.format(name=found.name, branch=branch_id))
    raise DomainError(f"无法下载群文件「{found.name}」，请稍后再试，或在服务器上用 "
                      f"python -m tools.roster import 导入。")


def _local_path(answer: dict) -> bool:
    where = str(answer.get("file") or answer.get("url") or "")
    return bool(where) and not where.startswith(("http://", "https://", "base64://"))


def _too_big(max_bytes: int) -> str:
    return f"名册文件太大（上限 {max_bytes // 1024} KB）。"


async def _bytes_of(answer: dict, max_bytes: int) -> bytes | None:
    if answer.get("base64"):
        data = base64.b64decode(str(answer["base64"]))
        if len(data) > max_bytes:
            raise DomainError(_too_big(max_bytes))
        return data
    for key in ("url", "file"):
        where = str(answer.get(key) or "")
        if where.startswith(("http://", "https://")):
            return await asyncio.to_thread(_fetch, where, max_bytes)
        path = Path(urllib.parse.unquote(urllib.parse.urlparse(where).path)) \
            if where.startswith("file://") else Path(where) if where else None
        if path is not None and path.is_absolute() and path.is_file():
            if path.stat().st_size > max_bytes:
                raise DomainError(_too_big(max_bytes))
            return await asyncio.to_thread(path.read_bytes)
    return None


def _fetch(url: str, max_bytes: int) -> bytes:
    try:
        with urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT_SECONDS) as response:
            data = response.read(max_bytes + 1)
    except OSError as exc:
        logger.info(f"roster download failed: {exc}")
        raise DomainError("下载群文件失败，请稍后再试。") from exc
    if len(data) > max_bytes:
        raise DomainError(_too_big(max_bytes))
    return data


@dataclass(frozen=True)
class PendingImport:
    branch_id: int
    name: str
    data: bytes
    by: int
    expires_at: float


class PendingImports:
    """Previewed group imports waiting for ``/成员 导入 确认``, one per group (in memory: a
    restart forgets them, and the preview is simply asked for again). Each holds its file, so
    expired ones are dropped whenever another is added, and at most ``MAX_PENDING`` are kept."""

    MAX_PENDING = 100

    def __init__(self) -> None:
        self._by_group: dict[int, PendingImport] = {}

    def put(self, group_id: int, pending: PendingImport, now: float) -> None:
        waiting = {g: p for g, p in self._by_group.items() if p.expires_at >= now}
        waiting.pop(group_id, None)
        while len(waiting) >= self.MAX_PENDING:
            waiting.pop(next(iter(waiting)))  # the oldest preview
        waiting[group_id] = pending
        self._by_group = waiting

    def take(self, group_id: int, branch_id: int, now: float) -> PendingImport | None:
        pending = self._by_group.pop(group_id, None)
        if pending is None or pending.branch_id != branch_id or pending.expires_at < now:
            return None
        return pending
