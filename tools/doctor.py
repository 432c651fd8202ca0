"""Check a deployment from the operator's shell, and say how to fix what is wrong.

    python -m tools.doctor            # run it in the bot's folder (where .env is)

Settings are read as the bot reads them (``.env``, ``.env.<ENVIRONMENT>``, the environment).
Checks: the settings are valid (and safe to start with); the database passes
``PRAGMA integrity_check``, is this bot's and its schema is not newer than the code; backups
exist, the newest is recent and sound; the port is free or held by this bot (then its
``/zhibu/health`` is read); ``BOT_PUBLIC_URL`` reaches this bot from here; a font with Chinese
glyphs is there for the pictures. Each finding is printed with its fix. Exit status 1 when
something is wrong (✘), 0 otherwise (notes marked ! do not fail).
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import socket
import sys
import urllib.error
import urllib.request
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from pydantic import ValidationError

from config import BranchConfig, load_settings

OK, NOTE, WRONG = "✔", "!", "✘"
PROBLEM_EXIT = 1
BACKUP_STALE_HOURS = 26  # a daily backup, with two hours' slack
HTTP_TIMEOUT = 5.0
PROBE_TOKEN = "doctor-check"  # no screen-page token is this short: the bot answers "invalid"
MANUAL = "docs/部署与运维.md"
DAILY_TIMES = ("wish_digest_time", "problem_overdue_remind_time", "backup_time",
               "session_leader_remind_time")
SCHEDULES = ("commend_time", "problem_weekly_time", "task_weekly_time",
             "activity_behind_check_time")


@dataclass(frozen=True)
class Finding:
    mark: str  # OK, NOTE or WRONG
    topic: str
    text: str
    fix: str = ""

    def __str__(self) -> str:
        line = f"{self.mark} {self.topic}：{self.text}"
        return line + (f"\n    → 怎么办：{self.fix}" if self.fix else "")


@dataclass(frozen=True)
class Server:
    """What NoneBot reads besides ``BranchConfig``: where the bot listens, its tokens."""

    host: str
    port: int
    access_token: str
    secret: str


def server_settings() -> Server:
    """HOST, PORT, ONEBOT_ACCESS_TOKEN and ONEBOT_SECRET as ``python bot.py`` reads them."""
    from nonebot.config import Config, Env

    env = Env()
    config = Config(_env_file=(".env", f".env.{env.environment}"))
    return Server(str(config.host), int(config.port),
                  str(getattr(config, "onebot_access_token", None) or ""),
                  str(getattr(config, "onebot_secret", None) or ""))


# -- settings ------------------------------------------------------------------------------


def check_settings() -> tuple[list[Finding], BranchConfig | None]:
    """Every setting valid, the times parseable, the connection safe to start with."""
    try:
        settings = load_settings()
    except ValidationError as exc:
        found = []
        for error in exc.errors():
            name = ".".join(str(part) for part in error["loc"]) or "设置"
            found.append(Finding(WRONG, "设置", f"{name.upper()} 的值不对：{error['msg']}",
                                 f"在 .env（或环境变量）里改正 {name.upper()}；每个设置的默认值和"
                                 f"含义见 {MANUAL} 的“全部设置”"))
        return found, None
    found = []
    try:
        now = datetime.now(ZoneInfo(settings.branch_timezone))
    except Exception:
        return [Finding(WRONG, "设置", f"BRANCH_TIMEZONE={settings.branch_timezone} 不是时区名",
                        "改成 Asia/Shanghai 这样的时区名")], None
    found += _times(settings, now)
    found += _connection(settings)
    if not found:
        found.append(Finding(OK, "设置", "全部设置有效"))
    return found, settings


def _times(settings: BranchConfig, now: datetime) -> list[Finding]:
    from domain.timeparse import parse_moment, parse_schedule

    found = []
    for names, parse, example in ((DAILY_TIMES, parse_moment, "03:30"),
                                  (SCHEDULES, parse_schedule, "每周日 20:00")):
        for name in names:
            value = getattr(settings, name)
            try:
                parse(value, now)
            except Exception:
                found.append(Finding(WRONG, "设置", f"{name.upper()}={value} 不是能识别的时间",
                                     f"写成 {example} 这样的形式"))
    return found


def _connection(settings: BranchConfig) -> list[Finding]:
    from runtime.adapter import transport_problem

    server = server_settings()
    problem = transport_problem(server.host, server.access_token, server.secret,
                                settings.onebot_http_post)
    if problem is None:
        return []
    return [Finding(WRONG, "设置", "机器人会拒绝启动：" + problem,
                    "在 .env 设置 ONEBOT_ACCESS_TOKEN（QQ 端填同一个），或 HOST=127.0.0.1")]


# -- the database --------------------------------------------------------------------------


def check_database(settings: BranchConfig) -> list[Finding]:
    from storage.backup import has_table, integrity_of, schema_version
    from storage.database import available_migrations

    path = Path(settings.branch_db_path)
    if not path.exists():
        return [Finding(NOTE, "数据库", f"{path} 还不存在", "第一次启动机器人时会自动创建；"
                        "如果应该已经有数据，检查 BRANCH_DB_PATH 是否写对")]
    verdict = integrity_of(path)
    if verdict != "ok":
        return [Finding(WRONG, "数据库", f"{path} 已损坏（{verdict[:200]}）",
                        "停止机器人，python -m tools.backup list 找最近的备份，"
                        f"python -m tools.backup restore <备份文件> --db {path}，再启动")]
    if not has_table(path, "branches"):
        return [Finding(WRONG, "数据库", f"{path} 不是支部助手的数据库",
                        "检查 BRANCH_DB_PATH 是否指向正确的文件")]
    have, known = schema_version(path), len(available_migrations())
    if have > known:
        return [Finding(WRONG, "数据库", f"数据库版本 {have} 比程序（{known}）新",
                        "这份数据库被新版程序用过：把程序升级到那个版本（git pull 后 "
                        "pip install -e .），不要用旧程序打开它")]
    if have < known:
        return [Finding(NOTE, "数据库", f"完整性正常；版本 {have}，程序是 {known}",
                        "机器人下次启动时会自动升级数据库（升级前先备份：python -m tools.backup）")]
    return [Finding(OK, "数据库", f"完整性正常，版本 {have}（{_size(path.stat().st_size)}）")]


def _size(size: int) -> str:
    return f"{size / 1024 / 1024:.1f} MB" if size >= 1024 * 1024 else f"{size / 1024:.0f} KB"


# -- backups -------------------------------------------------------------------------------


def check_backups(settings: BranchConfig, now: float) -> list[Finding]:
    from storage.backup import integrity_of, list_backups

    folder = Path(settings.backup_dir)
    if not Path(settings.branch_db_path).exists():
        return []
    backups = list_backups(folder) if folder.is_dir() else []
    if not backups:
        return [Finding(WRONG, "备份", f"{folder.resolve()} 里没有备份",
                        "运行 python -m tools.backup 立即备份一次；机器人每天 "
                        f"{settings.backup_time} 自动备份，检查它是否在运行、目录是否可写")]
    newest = backups[-1]  # named by the time the bot took it, on the bot's clock
    hours = (now - taken_at(newest, settings)) / 3600
    if hours > BACKUP_STALE_HOURS:
        return [Finding(WRONG, "备份", f"最新的备份 {newest.name} 是 {_age(hours)}前的",
                        f"机器人每天 {settings.backup_time} 备份：确认机器人在运行，日志里搜 "
                        "“backup” 看失败原因（超级管理员也会收到私聊），然后 python -m "
                        "tools.backup 立即备份一次")]
    verdict = integrity_of(newest)
    if verdict != "ok":
        return [Finding(WRONG, "备份", f"最新的备份 {newest.name} 通不过完整性检查",
                        "删掉它，运行 python -m tools.backup 重新备份，并检查磁盘")]
    return [Finding(OK, "备份", f"{len(backups)} 份，最新的 {newest.name} 是 {_age(hours)}前的"),
            Finding(NOTE, "备份", "备份和数据库在同一台机器上",
                    f"每天把 {folder.resolve()} 复制到另一台机器（见 {MANUAL} 的“备份与恢复”）")]


def taken_at(backup: Path, settings: BranchConfig) -> float:
    """When a backup was taken: the stamp in its name (``zhibu-YYYYMMDD-HHMMSS``, the bot's
    clock and timezone), else the file's modification time."""
    try:
        stamp = datetime.strptime(backup.name[len("zhibu-"):len("zhibu-YYYYMMDD-HHMMSS")],
                                  "%Y%m%d-%H%M%S")
    except ValueError:
        return backup.stat().st_mtime
    return stamp.replace(tzinfo=ZoneInfo(settings.branch_timezone)).timestamp()


def _age(hours: float) -> str:
    if hours < 1:
        return "不到 1 小时"
    return f"{hours:.0f} 小时" if hours < 48 else f"{hours / 24:.0f} 天"


# -- the port and the public address -------------------------------------------------------


def fetch(url: str, headers: dict | None = None) -> tuple[int | None, str]:
    """(HTTP status, body) of a GET; (None, why) when nothing answered."""
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT) as answer:
            return answer.status, answer.read(65536).decode(errors="replace")
    except urllib.error.HTTPError as refused:
        return refused.code, refused.read(65536).decode(errors="replace")
    except (urllib.error.URLError, OSError, ValueError) as exc:
        return None, str(getattr(exc, "reason", exc))


def _health_of(body: str) -> dict | None:
    try:
        data = json.loads(body)
    except ValueError:
        return None
    return data if isinstance(data, dict) and "database" in data and "version" in data else None


def check_port(server: Server) -> tuple[list[Finding], bool]:
    """Free, or held by this bot (whose health is then read). Also says whether it runs."""
    host = server.host if server.host not in ("0.0.0.0", "::", "") else "127.0.0.1"
    family = socket.AF_INET6 if ":" in server.host else socket.AF_INET
    with socket.socket(family) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
        try:
            probe.bind((server.host or "0.0.0.0", server.port))
        except OSError:
            pass
        else:
            free = f"{server.host}:{server.port} 空闲（机器人没有在运行）"
            return [Finding(OK, "端口", free)], False
    where = f"[{host}]" if ":" in host else host
    status, body = fetch(f"http://{where}:{server.port}/zhibu/health")
    health = _health_of(body) if status is not None else None
    if health is None:
        return [Finding(WRONG, "端口", f"{server.host}:{server.port} 被别的程序占用",
                        f"找出占用的程序（ss -ltnp | grep :{server.port}）停掉它，或在 .env 换一个 "
                        "PORT（QQ 端的地址也要改）")], False
    found = [Finding(OK, "端口", f"{server.host}:{server.port} 由本机器人使用（运行中，版本 "
                     f"{health.get('version')}）")]
    if status != 200:
        problems = "；".join(health.get("problems") or []) or "见 /zhibu/health"
        found.append(Finding(WRONG, "运行状态", f"机器人报告不健康：{problems}",
                             f"按提示处理；详见 {MANUAL} 的“监控”"))
    return found, True


def _loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def check_public_url(settings: BranchConfig, server: Server, running: bool) -> list[Finding]:
    """``BOT_PUBLIC_URL`` leads to this bot: its screen page answers for an unknown link."""
    url = settings.bot_public_url.rstrip("/")
    if not url:
        if _loopback(server.host):
            return [Finding(NOTE, "公开地址", "BOT_PUBLIC_URL 没有设置：投屏页、书记网页的链接"
                            f"会写成 http://{server.host}:{server.port}，只有这台机器能打开",
                            "用反向代理（nginx）对外提供时，设置 BOT_PUBLIC_URL=https://你的域名"
                            f"（见 {MANUAL} 的“反向代理”）")]
        return [Finding(OK, "公开地址", f"BOT_PUBLIC_URL 没有设置，链接写成 http://本机:{server.port}")]
    status, body = fetch(f"{url}/zhibu/screen/{PROBE_TOKEN}/state")
    if status is None:
        return [Finding(WRONG, "公开地址", f"从这台机器连不上 BOT_PUBLIC_URL={url}（{body[:120]}）",
                        "检查域名解析、反向代理是否在运行，以及 BOT_PUBLIC_URL 是否写对")]
    try:
        answer = json.loads(body)
    except ValueError:
        answer = None
    if status == 404 and isinstance(answer, dict) and answer.get("status") == "invalid":
        return [Finding(OK, "公开地址", f"{url} 能打开本机器人的投屏页")]
    if not running:
        return [Finding(NOTE, "公开地址",
                        f"{url} 有回应（HTTP {status}），但机器人没有在运行，无法确认",
                        "启动机器人后再运行一次 python -m tools.doctor")]
    return [Finding(WRONG, "公开地址", f"{url} 打开的不是本机器人（HTTP {status}）",
                    "检查 BOT_PUBLIC_URL 和反向代理：/zhibu/screen/、/zhibu/dashboard/、"
                    f"/zhibu/show/ 要转发到 http://127.0.0.1:{server.port}")]


# -- pictures ------------------------------------------------------------------------------


def check_font(settings: BranchConfig) -> list[Finding]:
    from runtime.charts import find_font

    font = find_font(settings.picture_font)
    if font is None:
        where = f"PICTURE_FONT={settings.picture_font} 不含中文字形" if settings.picture_font \
            else "系统里没有含中文字形的字体"
        return [Finding(WRONG, "图片", f"{where}：/统计 图、/积分榜 图 只能发文字版",
                        "Debian/Ubuntu：sudo apt-get install -y fonts-noto-cjk；或把 "
                        "PICTURE_FONT 设成一个中文字体文件（.ttf/.otf/.ttc）")]
    return [Finding(OK, "图片", f"中文字体：{font.family}（{font.path}）")]


# -- all of it -----------------------------------------------------------------------------


def run_checks(now: float | None = None) -> list[Finding]:
    """Every check, in order; later ones are skipped when the settings cannot be read."""
    found, settings = check_settings()
    if settings is None:
        return found
    if now is None:  # the bot's clock (the same as time.time() unless a test offsets it)
        from domain.clock import clock_of

        now = clock_of(settings).timestamp()
    found += check_database(settings)
    found += check_backups(settings, now)
    server = server_settings()
    port, running = check_port(server)
    found += port
    found += check_public_url(settings, server, running)
    found += check_font(settings)
    return found


def main(argv: Iterable[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tools.doctor",
        description="检查这台机器上的支部助手部署：设置、数据库、备份、端口、公开地址、中文字体。"
                    "在机器人的目录（有 .env 的地方）运行。")
    parser.parse_args(None if argv is None else list(argv))
    found = run_checks()
    for finding in found:
        print(finding)
    wrong = sum(f.mark == WRONG for f in found)
    print(f"\n发现 {wrong} 个问题。" if wrong else "\n没有发现问题。")
    return PROBLEM_EXIT if wrong else 0


if __name__ == "__main__":
    sys.exit(main())
