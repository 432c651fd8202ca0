"""``python -m tools.doctor`` passes on a good deployment and finds each planted problem: a bad
setting, a stale backup, a broken database, a wrong public address, no Chinese font.

The deployment is real: bot.py runs on its database (the doctor finds its port held by this
bot and reads its health), the backup is a real checked backup, and the doctor runs as the
operator runs it, in its own process from the deployment's folder.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import matplotlib
import pytest

from runtime.charts import find_font
from storage.backup import backup_database, backup_name
from tools.onebot import ROOT, TOKEN, BotProcess, free_port

DAY = 86400


@pytest.fixture(scope="module")
def cjk_font() -> str:
    font = find_font("")
    if font is None:
        pytest.skip("no font with Chinese glyphs on this machine (apt-get install fonts-noto-cjk)")
    return font.path


@pytest.fixture(scope="module")
def deployment(tmp_path_factory, cjk_font):
    """A running bot with its database and one fresh backup; yields the doctor's settings."""
    folder = tmp_path_factory.mktemp("deployment")
    db = folder / "data" / "zhibu.db"
    db.parent.mkdir()
    bot = BotProcess(db, folder / "bot.log", BACKUP_DIR=str(folder / "backups"))
    bot.start()
    try:
        (folder / "backups").mkdir()
        backup_database(db, backup_name(time.strftime("%Y%m%d-%H%M%S"), folder / "backups"))
        yield folder, {
            "HOST": "127.0.0.1", "PORT": str(bot.port), "ONEBOT_ACCESS_TOKEN": TOKEN,
            "BRANCH_DB_PATH": str(db), "BACKUP_DIR": str(folder / "backups"),
            "BOT_PUBLIC_URL": f"http://127.0.0.1:{bot.port}", "PICTURE_FONT": cjk_font,
        }
    finally:
        bot.stop()


def doctor(folder: Path, settings: dict, **changed: str) -> tuple[int, str]:
    """Run ``python -m tools.doctor`` in the deployment's folder; (exit status, output)."""
    env = {k: v for k, v in os.environ.items() if k.upper() not in settings}
    env.update(settings, **changed, PYTHONPATH=str(ROOT), ENVIRONMENT="prod")
    done = subprocess.run([sys.executable, "-m", "tools.doctor"], cwd=folder, env=env,
                          capture_output=True, text=True, timeout=120)
    return done.returncode, done.stdout + done.stderr


def wrong_lines(output: str) -> list[str]:
    """The findings marked wrong, each with its fix (the next line, joined to it)."""
    lines = output.splitlines()
    found = []
    for n, line in enumerate(lines):
        if line.startswith("✘"):
            fix = lines[n + 1] if n + 1 < len(lines) else ""
            assert fix.strip().startswith("→ 怎么办："), (line, fix)
            found.append(f"{line}\n{fix}")
    return found


def one_problem(folder: Path, settings: dict, **changed: str) -> str:
    """The doctor with ``changed`` settings fails (exit 1) with exactly one finding: its line."""
    status, output = doctor(folder, settings, **changed)
    assert status == 1, output
    [line] = wrong_lines(output)
    return line


def test_a_good_deployment_passes(deployment):
    folder, settings = deployment
    status, output = doctor(folder, settings)
    assert status == 0, output
    assert wrong_lines(output) == []
    for topic in ("✔ 设置", "✔ 数据库", "✔ 备份", "✔ 端口", "✔ 公开地址", "✔ 图片"):
        assert topic in output, (topic, output)
    assert "由本机器人使用" in output and "没有发现问题" in output


def test_a_bad_setting_is_found(deployment):
    folder, settings = deployment
    line = one_problem(folder, settings, BACKUP_KEEP="0")
    assert "BACKUP_KEEP 的值不对" in line


def test_a_time_that_cannot_be_read_is_found(deployment):
    folder, settings = deployment
    line = one_problem(folder, settings, BACKUP_TIME="25:61")
    assert "BACKUP_TIME=25:61 不是能识别的时间" in line


def test_a_stale_backup_is_found(deployment, tmp_path):
    folder, settings = deployment
    old = tmp_path / "backups"
    old.mkdir()
    # the only backup was taken three days ago (by the name the bot gives it, on its clock)
    taken = datetime.now(ZoneInfo("Asia/Shanghai")) - timedelta(seconds=3 * DAY)
    newest = sorted(Path(settings["BACKUP_DIR"]).iterdir())[-1]
    shutil.copyfile(newest, old / f"zhibu-{taken:%Y%m%d-%H%M%S}.db")
    line = one_problem(folder, settings, BACKUP_DIR=str(old))
    assert "是 3 天前的" in line


def test_no_backup_at_all_is_found(deployment, tmp_path):
    folder, settings = deployment
    line = one_problem(folder, settings, BACKUP_DIR=str(tmp_path / "none"))
    assert "里没有备份" in line


def test_a_broken_database_is_found(deployment, tmp_path):
    folder, settings = deployment
    broken = tmp_path / "zhibu.db"
    backup_database(settings["BRANCH_DB_PATH"], broken)  # a sound copy, then a failing disk
    data = bytearray(broken.read_bytes())
    page = 4096
    data[2 * page:4 * page] = b"\x5a" * (2 * page)
    broken.write_bytes(bytes(data))
    line = one_problem(folder, settings, BRANCH_DB_PATH=str(broken))
    assert "已损坏" in line and "tools.backup restore" in line


def test_a_wrong_public_url_is_found(deployment):
    folder, settings = deployment
    line = one_problem(folder, settings, BOT_PUBLIC_URL=f"http://127.0.0.1:{free_port()}")
    assert "连不上 BOT_PUBLIC_URL" in line
    # an address that answers, but is not this bot's pages
    line = one_problem(folder, settings,
                       BOT_PUBLIC_URL=f"http://127.0.0.1:{settings['PORT']}/elsewhere")
    assert "打开的不是本机器人" in line


def test_no_cjk_font_is_found(deployment):
    folder, settings = deployment
    latin_only = Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf"
    line = one_problem(folder, settings, PICTURE_FONT=str(latin_only))
    assert "不含中文字形" in line and "fonts-noto-cjk" in line
