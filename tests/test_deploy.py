"""The files in ``deploy/``: the systemd unit passes ``systemd-analyze verify`` and agrees with
the code; the nginx example, as shipped (only its ports, upstream and certificate paths
replaced), runs in front of the real bot and forwards the pages and nothing else.

Where ``systemd-analyze``, ``nginx`` or ``openssl`` is missing those tests skip and say so
(Debian: ``apt-get install systemd nginx-light openssl``; ``.ci/run`` installs nginx-light as
root); the unit's agreement with the code is checked everywhere.
"""

from __future__ import annotations

import json
import shutil
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

from tools.onebot import ROOT, BotProcess, free_port

UNIT = ROOT / "deploy" / "zhibu.service"
NGINX = ROOT / "deploy" / "nginx-zhibu.conf"


def unit_entries() -> dict[str, list[tuple[str, str]]]:
    """The unit file's sections with their key=value lines (keys may repeat, as in systemd)."""
    sections: dict[str, list[tuple[str, str]]] = {}
    current = None
    for raw in UNIT.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], [])
            continue
        assert current is not None and "=" in line, f"not a unit line: {raw!r}"
        key, value = line.split("=", 1)
        current.append((key.strip(), value.strip()))
    return sections


def values(section: list[tuple[str, str]], key: str) -> list[str]:
    return [v for k, v in section if k == key]


def test_the_unit_agrees_with_the_code():
    from runtime.adapter import STARTUP_REFUSED_EXIT
    from runtime.lifecycle import BROKEN_DATABASE_EXIT

    sections = unit_entries()
    assert set(sections) == {"Unit", "Service", "Install"}
    service = sections["Service"]
    [start] = values(service, "ExecStart")
    assert start.split()[-1] == "bot.py" and start.split()[0].endswith("/.venv/bin/python")
    [working] = values(service, "WorkingDirectory")
    # exits that a restart cannot fix are not restarted
    [prevent] = values(service, "RestartPreventExitStatus")
    assert set(prevent.split()) == {str(BROKEN_DATABASE_EXIT), str(STARTUP_REFUSED_EXIT)}
    assert values(service, "KillSignal") == ["SIGINT"]  # the stop the e2e tests exercise
    # the database, the backups and the log file are under data/ by default: writable
    [writable] = values(service, "ReadWritePaths")
    assert writable == f"{working}/data" and values(service, "ProtectSystem") == ["strict"]
    assert values(sections["Install"], "WantedBy") == ["multi-user.target"]


def test_the_unit_passes_systemd_analyze_verify(tmp_path):
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed here; the unit's keys are checked by "
                    "test_the_unit_agrees_with_the_code")
    # the shipped unit with this checkout's paths: verify checks that ExecStart exists
    text = UNIT.read_text(encoding="utf-8")
    text = text.replace("/srv/zhibu/.venv/bin/python", sys.executable)
    text = text.replace("/srv/zhibu", str(ROOT))
    unit = tmp_path / "zhibu.service"
    unit.write_text(text, encoding="utf-8")
    done = subprocess.run([analyze, "verify", str(unit)], capture_output=True, text=True,
                          timeout=60)
    about_ours = [line for line in (done.stdout + done.stderr).splitlines()
                  if "zhibu.service" in line]
    assert done.returncode == 0 and about_ours == [], done.stdout + done.stderr


# -- nginx ---------------------------------------------------------------------------------


def _wait_for_port(port: int, proc: subprocess.Popen, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("nginx exited")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError("nginx did not listen in time")


def _get(url: str, **headers: str) -> tuple[int, str, dict]:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # the test's own self-signed certificate

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    opener = urllib.request.build_opener(urllib.request.HTTPSHandler(context=context),
                                         NoRedirect)
    try:
        with opener.open(urllib.request.Request(url, headers=headers), timeout=10) as answer:
            return answer.status, answer.read().decode(), dict(answer.headers)
    except urllib.error.HTTPError as refused:
        return refused.code, refused.read().decode(), dict(refused.headers)


@pytest.fixture
def proxied_bot(tmp_path):
    """bot.py behind nginx configured by deploy/nginx-zhibu.conf; yields (http, https) ports."""
    nginx, openssl = shutil.which("nginx"), shutil.which("openssl")
    if nginx is None or openssl is None:
        pytest.skip("nginx or openssl is not installed here (Debian: apt-get install "
                    "nginx-light openssl; .ci/run does it as root)")
    bot = BotProcess(tmp_path / "e2e.db", tmp_path / "bot.log")
    bot.start()
    http_port, https_port = free_port(), free_port()
    subprocess.run([openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=bot.example.edu.cn", "-keyout", str(tmp_path / "key.pem"),
                    "-out", str(tmp_path / "cert.pem")], check=True, capture_output=True)
    site = NGINX.read_text(encoding="utf-8")
    for shipped, here in (("127.0.0.1:8080", f"127.0.0.1:{bot.port}"),
                          ("listen 80;", f"listen 127.0.0.1:{http_port};"),
                          ("listen 443 ssl", f"listen 127.0.0.1:{https_port} ssl"),
                          ("/etc/letsencrypt/live/bot.example.edu.cn/fullchain.pem",
                           str(tmp_path / "cert.pem")),
                          ("/etc/letsencrypt/live/bot.example.edu.cn/privkey.pem",
                           str(tmp_path / "key.pem"))):
        assert shipped in site, shipped
        site = site.replace(shipped, here)
    (tmp_path / "zhibu.conf").write_text(site, encoding="utf-8")
    temp = tmp_path / "nginx-temp"
    temp.mkdir()
    paths = " ".join(f"{kind}_temp_path {temp / kind};"
                     for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    (tmp_path / "nginx.conf").write_text(
        f"daemon off;\npid {tmp_path / 'nginx.pid'};\nerror_log {tmp_path / 'nginx.log'};\n"
        f"events {{ worker_connections 64; }}\n"
        f"http {{ access_log off; {paths} include {tmp_path / 'zhibu.conf'}; }}\n",
        encoding="utf-8")
    checked = subprocess.run([nginx, "-t", "-p", str(tmp_path), "-c",
                              str(tmp_path / "nginx.conf")], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stderr
    proc = subprocess.Popen([nginx, "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_for_port(https_port, proc)
        yield http_port, https_port
    finally:
        proc.terminate()
        proc.wait(15)
        bot.stop()


def test_the_nginx_example_forwards_the_pages_and_nothing_else(proxied_bot):
    http_port, https_port = proxied_bot
    base = f"https://127.0.0.1:{https_port}"
    status, _, headers = _get(f"http://127.0.0.1:{http_port}/zhibu/screen/x")
    assert status == 301 and headers["Location"].startswith("https://")
    # the screen page's JSON for an unknown link: the bot answered, through the proxy
    status, body, _ = _get(f"{base}/zhibu/screen/not-a-token/state")
    assert status == 404 and json.loads(body)["status"] == "invalid"
    status, body, _ = _get(f"{base}/zhibu/dashboard/not-a-token")
    assert "链接无效或已过期" in body
    status, _, _ = _get(f"{base}/zhibu/show/not-a-token")
    assert status == 404
    status, body, _ = _get(f"{base}/zhibu/health")
    assert status in (200, 503) and "database" in json.loads(body)
    # not forwarded: the metrics, the QQ side's WebSocket, anything else
    for path in ("/zhibu/metrics", "/onebot/v11/ws", "/onebot/v11/", "/docs", "/"):
        status, body, _ = _get(base + path)
        assert status == 404 and "zhibu_" not in body, path
