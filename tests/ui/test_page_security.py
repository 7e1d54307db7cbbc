"""The page, attacked as another local user or another local page would (issue 31): `importer ui` as a
subprocess, httpx as the browser (and, for what a browser sends to another port, chromium in
tests/ui/test_ui_browser.py). Each test reproduces one attack and shows it refused."""

import contextlib
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from ..conftest import wait_until
from .pages import page_process


class Browser:
    """httpx as the person's browser: it opened the launch address, holds the cookie, sends its Origin."""

    def __init__(self, address: str):
        self.root = address.split("/?", 1)[0]
        self.client = httpx.Client(follow_redirects=False, timeout=30)
        opened = self.client.get(address)
        assert opened.status_code == 303, opened.text
        self.base = self.root + opened.headers["location"].rstrip("/")
        self.cookie = opened.cookies["importer_session"]
        self.origin = {"Origin": self.root}

    def get(self, path, **options):
        return self.client.get(self.base + path, **options)

    def post(self, path, **options):
        return self.client.post(self.base + path, headers={**self.origin, **options.pop("headers", {})}, **options)

    def upload(self, name: str, content: bytes):
        return self.post("/upload", files={"file": (name, content)})


def peak_memory_mib(pid: int) -> float:
    text = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"VmHWM:\s+(\d+) kB", text).group(1)) / 1024


def test_a_launch_address_opens_the_page_once_and_the_cookie_goes_to_its_path_only(tmp_path):
    with page_process(tmp_path) as (_, address):
        browser = Browser(address)
        again = httpx.get(address, follow_redirects=False)
        assert again.status_code == 403 and "used once already" in again.text  # a reused token URL
        opened = httpx.get(address.replace("token=", "token=x"), follow_redirects=False)
        assert opened.status_code == 403
        assert browser.get("/").status_code == 200
        assert httpx.get(browser.base + "/").status_code == 403  # the address alone (seen on a screen): no
        assert httpx.get(browser.root + "/", cookies={"importer_session": browser.cookie}).status_code == 403


def test_a_tossed_cookie_of_the_same_name_locks_nobody_out(tmp_path):
    with page_process(tmp_path) as (_, address):
        browser = Browser(address)
        # Another local port set a cookie of the same name (Path=/run would be sent first): every one is checked.
        tossed = {"Cookie": f"importer_session=planted-by-another-port; importer_session={browser.cookie}"}
        browser.client.cookies.clear()
        assert httpx.get(browser.base + "/", headers=tossed).status_code == 200
        assert httpx.get(browser.base + "/", headers={"Cookie": "importer_session=planted"}).status_code == 403


def test_every_answer_refuses_framing_and_sniffing(tmp_path):
    with page_process(tmp_path) as (_, address):
        browser = Browser(address)
        for reply in (browser.get("/"), browser.get("/static/page.js"), httpx.get(browser.root + "/nothing"),
                      browser.get("/check/unknown")):
            policy = reply.headers["content-security-policy"]
            assert "frame-ancestors 'none'" in policy and "script-src 'self'" in policy, reply.url
            assert reply.headers["x-frame-options"] == "DENY"
            assert reply.headers["x-content-type-options"] == "nosniff"


def test_a_1_gb_upload_is_refused_at_the_limit_without_filling_memory(tmp_path):
    with page_process(tmp_path) as (process, address):
        browser = Browser(address)
        # Declared: refused before a byte of the body is read.
        started = time.monotonic()
        with socket.create_connection(("127.0.0.1", int(browser.root.rsplit(":", 1)[1]))) as raw:
            path = browser.base.split(":", 2)[2].split("/", 1)[1]
            raw.sendall((f"POST /{path}/upload HTTP/1.1\r\nHost: {browser.root[7:]}\r\nOrigin: {browser.root}\r\n"
                         f"Cookie: importer_session={browser.cookie}\r\n"
                         "Content-Type: multipart/form-data; boundary=b\r\nContent-Length: 1073741824\r\n\r\n"
                         "--b\r\n").encode())
            raw.settimeout(5)
            answer = b""
            while b"</html>" not in answer and (data := raw.recv(65536)):  # until the page, or the close
                answer += data
            answer = answer.decode("utf-8")
        assert answer.startswith("HTTP/1.1 413") and "larger than 250 MB" in answer
        assert time.monotonic() - started < 2
        # Streamed without a length (chunked): counted as it comes, refused at 250 MB, never in memory.
        before = peak_memory_mib(process.pid)
        sent = [0]

        def body():
            yield b'--b\r\nContent-Disposition: form-data; name="file"; filename="huge.csv"\r\n\r\n'
            chunk = b"Title,Course Type\n" + b"x" * (2**20 - 18)
            while sent[0] < 2**30:
                sent[0] += len(chunk)
                yield chunk

        started = time.monotonic()
        with contextlib.suppress(httpx.HTTPError):
            reply = browser.client.post(browser.base + "/upload", content=body(), headers={
                **browser.origin, "Content-Type": "multipart/form-data; boundary=b"})
            assert reply.status_code == 413
        elapsed = time.monotonic() - started
        peak = peak_memory_mib(process.pid)
        assert process.poll() is None  # the page lives on
    assert sent[0] < 2**30 and elapsed < 30, (sent[0], elapsed)  # the connection ends at the refusal
    assert peak - before < 50, (before, peak)  # one chunk at a time, never the file
    assert not list((tmp_path / "state" / "uploads").rglob("*.csv"))  # nothing of it kept


def slow_target(release: threading.Event, *, slow_ping: bool):
    """A courses API on loopback whose key check (or whose every create) answers only when `release` is
    set, or after 20 s: a slow or stuck instance. `server.held` counts the requests it is holding."""
    held = []

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def _json(self, status, body):
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):
            if self.path.endswith("/ping"):
                if slow_ping:
                    held.append(self.path)
                    release.wait(20)
                return self._json(200, {"valid": True})
            return self._json(200, {"courses": [], "pageInfo": {"hasMore": False}})

        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            held.append(self.path)
            release.wait(20)
            self._json(201, {"id": f"c-{body['title']}", **body})

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    server.held = held
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def answers_within(browser, path, seconds=1.0):
    started = time.monotonic()
    reply = browser.get(path)
    return reply, time.monotonic() - started


def test_a_slow_target_freezes_no_other_page_and_stop_answers_at_once(tmp_path):
    source = b"Title,Course Type\n" + b"".join(b"Course %d,course\n" % i for i in range(5))
    release = threading.Event()
    stuck = slow_target(release, slow_ping=True)
    holding = threading.Event()
    slow = slow_target(holding, slow_ping=False)
    try:
        with page_process(tmp_path) as (_, address):
            browser = Browser(address)
            check = browser.upload("five.csv", source)
            upload_id = check.headers["location"].rsplit("/", 1)[1]
            target = f"http://127.0.0.1:{stuck.server_address[1]}"
            form = {"where": "platform", "address": target, "api_key": "k", "api": "guide"}
            waiting = threading.Thread(target=lambda: browser.post(f"/target/{upload_id}", data=form))
            waiting.start()
            wait_until(lambda: stuck.held, timeout=10, what="the key check held by the stuck server")
            home, took = answers_within(browser, "/")
            assert home.status_code == 200 and took < 1.0, took
            busy = browser.post(f"/target/{upload_id}", data=form)  # a second tab, the same target
            assert busy.status_code == 400 and "busy" in busy.text
            release.set()
            waiting.join(30)

            form["address"] = f"http://127.0.0.1:{slow.server_address[1]}"
            assert browser.post(f"/target/{upload_id}", data=form).status_code == 303
            assert "Plan: 5 to create" in browser.get(f"/plan/{upload_id}").text
            run = browser.post(f"/import/{upload_id}").headers["location"].rsplit("/", 1)[1]
            wait_until(lambda: slow.held, timeout=10, what="the first create held by the server")
            status, took = answers_within(browser, f"/run/{run}/status")
            assert status.json()["finished"] is False and took < 1.0
            replan = browser.get(f"/plan/{upload_id}")  # a second tab planning mid-import
            assert replan.status_code == 400 and "an import is running" in replan.text
            started = time.monotonic()
            stopped = browser.post(f"/run/{run}/stop")
            assert stopped.status_code == 303 and time.monotonic() - started < 1.0
            assert browser.get(f"/run/{run}/status").json()["stopping"] is True
            holding.set()  # the server answers the create: the import ends, its course kept
            wait_until(lambda: browser.get(f"/run/{run}/status").json()["finished"], timeout=30, what="the stop")
            assert browser.get(f"/run/{run}/status").json()["counts"] == {"created": 1}
    finally:
        release.set()
        holding.set()
        stuck.shutdown()
        slow.shutdown()


def test_bad_inputs_answer_4xx_with_a_sentence(tmp_path):
    export = b"code,name,kind\nA1,Negotiation,Live\n"
    with page_process(tmp_path) as (process, address):
        browser = Browser(address)
        assert httpx.get(browser.root + "/?token=%C3%A9t%C3%A9").status_code == 403  # not a 500
        check = browser.upload("x" * 300 + "\x00.csv", b"Title,Course Type\nA,course\n")
        assert check.status_code == 303
        check_path = "/" + check.headers["location"].split("/", 3)[3]
        page = browser.get(check_path + "?page=abc")
        assert page.status_code == 200 and "\x00" not in page.text and "x" * 200 not in page.text
        columns = browser.upload("export.csv", export).headers["location"]
        columns_path = "/" + columns.split("/", 3)[3]
        for choice in ("abc", "99", "-1"):
            reply = browser.post(columns_path, data={"column-title": choice, "column-courseType": "2"})
            assert reply.status_code == 400 and "is not one of this file" in reply.text, choice
        assert browser.post("/run/undo-nothing/undo").status_code == 404
        handshake = browser.client.get(browser.base + "/", headers={
            "Connection": "Upgrade", "Upgrade": "websocket", "Sec-WebSocket-Version": "13",
            "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="})
        assert handshake.status_code != 101
        assert process.poll() is None
    assert "Traceback" not in process.stderr.read()


def test_the_state_folder_is_private_and_a_symlinked_one_is_refused(tmp_path):
    with page_process(tmp_path) as (_, address):
        browser = Browser(address)
        upload = browser.upload("two.csv", b"Title,Course Type\nA,course\nB,video\n")
        upload_id = upload.headers["location"].rsplit("/", 1)[1]
        browser.post(f"/target/{upload_id}", data={"where": "sandbox"})
        browser.get(f"/plan/{upload_id}")
        run = browser.post(f"/import/{upload_id}").headers["location"].rsplit("/", 1)[1]
        wait_until(lambda: browser.get(f"/run/{run}/status").json()["finished"], timeout=60, what="the import")
    state = tmp_path / "state"
    written = [p for p in state.rglob("*")]
    assert any(p.name.endswith(".results.xlsx") for p in written) and any("journal" in p.name for p in written)
    for path in [state, *written]:
        mode = path.stat().st_mode & 0o777
        assert mode == (0o700 if path.is_dir() else 0o600), (path, oct(mode))

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (tmp_path / "linked").symlink_to(elsewhere)
    done = subprocess.run([sys.executable, "-m", "importer", "ui", "--port", "0", "--no-browser", "--state-dir",
                           str(tmp_path / "linked")], capture_output=True, text=True, timeout=30, cwd=tmp_path)
    assert done.returncode == 2 and "symbolic link" in done.stderr and "Traceback" not in done.stderr


@pytest.mark.skipif(not hasattr(os, "getuid") or os.getuid() != 0,
                    reason="needs root to make a folder another user owns")
def test_a_state_folder_another_user_owns_is_refused(tmp_path):
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    os.chown(foreign, 65534, 65534)
    done = subprocess.run([sys.executable, "-m", "importer", "ui", "--port", "0", "--no-browser", "--state-dir",
                           str(foreign)], capture_output=True, text=True, timeout=30, cwd=tmp_path)
    assert done.returncode == 2 and "belongs to another user" in done.stderr


def test_the_browser_is_opened_on_a_private_file_never_with_the_token_in_its_arguments(tmp_path):
    """The opener is a file only the person can read; the command that opens the browser names the file."""
    fake_browser = tmp_path / "record-browser"
    arguments = tmp_path / "arguments.txt"
    fake_browser.write_text(f"#!/bin/sh\necho \"$@\" >> {arguments}\n")
    fake_browser.chmod(0o755)
    env = {**os.environ, "BROWSER": str(fake_browser)}
    process = subprocess.Popen([sys.executable, "-m", "importer", "ui", "--port", "0", "--state-dir",
                                str(tmp_path / "state")], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, cwd=tmp_path, env=env)
    try:
        wait_until(lambda: arguments.exists() and arguments.read_text().strip(), timeout=30, what="the browser")
        opened = arguments.read_text().strip()
        assert "token" not in opened and opened.startswith("file://")
        opener = Path(opened[len("file://"):])
        assert opener.stat().st_mode & 0o777 == 0o600
        launch = re.search(r'url=([^"]+)"', opener.read_text()).group(1).replace("&amp;", "&")
        assert Browser(launch).get("/").status_code == 200  # it forwards to a launch address of its own
    finally:
        process.terminate()
        process.wait(timeout=60)
    assert not opener.exists()  # removed when the page stops
