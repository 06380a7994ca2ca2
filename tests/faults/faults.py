"""The fault suite's driver (stdlib only): see run.sh for what it checks."""

import argparse
import json
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

GRACE_MS = 3000
PROTOCOL = "2025-11-25"
RESULTS = []


def log(msg):
    print(f"faults: {msg}", flush=True)


def check(name, ok, detail=""):
    RESULTS.append((name, ok, detail))
    print(f"{'PASS' if ok else 'FAIL'}  {name}{(': ' + detail) if detail else ''}", flush=True)
    return ok


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- PostgreSQL cluster of our own -----------------------------------------------------------
class Cluster:
    def __init__(self, pgbin, work, as_pg):
        self.pgbin, self.as_pg = pgbin, shlex.split(as_pg) if as_pg else []
        self.dir = os.path.join(work, "pg")
        self.sock = os.path.join(work, "pgsock")
        self.port = free_port()
        os.makedirs(self.sock, exist_ok=True)
        if self.as_pg:
            subprocess.run(["chown", "postgres", work, self.sock], check=True)

    def run(self, tool, *args, timeout=60):
        cmd = self.as_pg + [os.path.join(self.pgbin, tool), *args]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)

    def init(self):
        r = self.run("initdb", "-D", self.dir, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync")
        if r.returncode != 0:
            raise RuntimeError(f"initdb failed: {r.stderr[-500:]}")

    def start(self):
        opts = f"-p {self.port} -k {self.sock} -c listen_addresses=127.0.0.1 -c fsync=off"
        r = self.run("pg_ctl", "-D", self.dir, "-o", opts, "-l", os.path.join(self.dir, "log"), "-w", "-t", "30", "start")
        if r.returncode != 0:
            raise RuntimeError(f"pg_ctl start failed: {r.stdout[-300:]} {r.stderr[-300:]}")

    def stop(self):
        self.run("pg_ctl", "-D", self.dir, "-m", "fast", "-w", "-t", "30", "stop")

    def sql(self, db, query):
        r = self.run("psql", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "-d", db, "-At", "-c", query)
        if r.returncode != 0:
            raise RuntimeError(f"psql: {r.stderr[-300:]}")
        return r.stdout.strip()

    def url(self, db, port=None):
        return f"postgres://postgres@127.0.0.1:{port or self.port}/{db}"


# --- A TCP proxy the suite can cut -----------------------------------------------------------
class Proxy:
    def __init__(self, target_port):
        self.target = ("127.0.0.1", target_port)
        self.up = True
        self.socks = []
        self.lock = threading.Lock()
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(64)
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self.accept, daemon=True).start()

    def accept(self):
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if not self.up:
                client.close()
                continue
            try:
                server = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            with self.lock:
                self.socks += [client, server]
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=self.pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def pipe(a, b):
        try:
            while True:
                data = a.recv(65536)
                if not data:
                    break
                b.sendall(data)
        except OSError:
            pass
        for s in (a, b):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def cut(self):
        self.up = False
        with self.lock:
            for s in self.socks:
                try:
                    s.shutdown(socket.SHUT_RDWR)
                    s.close()
                except OSError:
                    pass
            self.socks = []

    def restore(self):
        self.up = True


# --- The server -----------------------------------------------------------------------------
class Server:
    def __init__(self, binary, work, env):
        self.binary, self.work, self.env = binary, work, env
        self.proc, self.base, self.logf = None, None, None
        self.log_path = os.path.join(work, "server.log")

    def start(self, timeout=60):
        env = {k: v for k, v in os.environ.items() if not k.startswith("VIZIER_")}
        env.update(self.env)
        self.logf = open(self.log_path, "a")
        self.mark = os.path.getsize(self.log_path)
        self.proc = subprocess.Popen([self.binary, "serve"], cwd=self.work, env=env, stdout=self.logf, stderr=self.logf)
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the server exited: {self.tail()}")
            m = re.search(r"serving MCP at (http://[0-9.]+:[0-9]+)", self.log())
            if m:
                self.base = m.group(1)
                break
            time.sleep(0.1)
        else:
            raise RuntimeError(f"the server did not start: {self.tail()}")
        while time.time() < deadline:
            if http_get(self.base + "/ready")[0] == 200:
                return
            time.sleep(0.1)
        raise RuntimeError(f"/ready did not answer 200: {self.tail()}")

    def log(self):
        with open(self.log_path, errors="replace") as f:
            f.seek(self.mark)
            return f.read()

    def tail(self, n=15):
        return "\n".join(self.log().splitlines()[-n:])

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.logf:
            self.logf.close()


def http_get(url, timeout=10):
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, r.read().decode(errors="replace")
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(errors="replace")
    except OSError as e:
        return 0, str(e)


def post(base, body, timeout=30, headers=None):
    """POST raw bytes (or a JSON value) to /mcp: (status, headers, parsed body or text)."""
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    h = {"content-type": "application/json", "accept": "application/json, text/event-stream",
         "mcp-protocol-version": PROTOCOL}
    h.update(headers or {})
    req = urllib.request.Request(base + "/mcp", data=data, headers=h, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            status, hdrs, text = r.status, dict(r.headers), r.read().decode(errors="replace")
    except urllib.error.HTTPError as e:
        status, hdrs, text = e.code, dict(e.headers), e.read().decode(errors="replace")
    except OSError as e:
        return 0, {}, str(e)
    for line in text.splitlines():  # SSE: the last data line holds the answer
        if line.startswith("data:") and line[5:].strip():
            text = line[5:].strip()
    try:
        return status, {k.lower(): v for k, v in hdrs.items()}, json.loads(text)
    except ValueError:
        return status, {k.lower(): v for k, v in hdrs.items()}, text


def call(base, tool, args, timeout=30):
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": tool, "arguments": args}}
    status, headers, answer = post(base, body, timeout)
    result = answer.get("result", {}) if isinstance(answer, dict) else {}
    payload = result.get("structuredContent")
    if payload is None:
        try:
            payload = json.loads(result.get("content", [{}])[0].get("text", "null"))
        except (ValueError, IndexError, AttributeError):
            payload = None
    return status, headers, result.get("isError", False), payload, answer


# --- Checks ---------------------------------------------------------------------------------
def garbage(base):
    big = "x" * 900_000
    corpus = [
        b"{", b"not json", b"[]", b"null", b"{\"jsonrpc\":\"2.0\"}", b"\xff\xfe\x00",
        b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":42}",
        b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":\"nope\"}",
        b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":17}}",
        json.dumps({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                    "params": {"name": "list_charts", "arguments": {"page": "two", "page_size": -5}}}).encode(),
        json.dumps({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                    "params": {"name": "execute_sql", "arguments": {"database_id": "x", "sql": 5}}}).encode(),
        json.dumps({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                    "params": {"name": "get_chart_info", "arguments": {"identifier": big}}}).encode(),
        json.dumps({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                    "params": {"name": "execute_sql", "arguments": {"database_id": 1, "sql": big}}}).encode(),
        json.dumps({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                    "params": {"name": big[:100_000], "arguments": {}}}).encode(),
        json.dumps({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                    "params": {"name": "get_chart_info", "arguments": {"identifier": [[[[[[]]]]]]}}}).encode(),
        b"[" * 10_000 + b"]" * 10_000,
        json.dumps({"jsonrpc": "2.0", "id": {"a": 1}, "method": "tools/list"}).encode(),
    ]
    bad = []
    for i, body in enumerate(corpus):
        status, _, answer = post(base, body, timeout=30)
        answered = isinstance(answer, dict) and ("error" in answer or answer.get("result", {}).get("isError"))
        if status == 0 or status >= 500 or not (answered or status in (400, 404, 405, 406, 413, 415)):
            bad.append(f"#{i} -> {status} {str(answer)[:120]}")
    alive = http_get(base + "/health")[0] == 200
    check("garbage", not bad and alive, "; ".join(bad) or f"{len(corpus)} bodies answered with errors, server up")


def partial_body(base, limit_s):
    """Send headers claiming 1000 bytes and only 10: the server must close the connection."""
    host, port = base.split("//")[1].split(":")
    s = socket.create_connection((host, int(port)), timeout=limit_s + 5)
    s.sendall(f"POST /mcp HTTP/1.1\r\nHost: {host}:{port}\r\ncontent-type: application/json\r\n"
              f"accept: application/json, text/event-stream\r\ncontent-length: 1000\r\n\r\n{{\"jsonrpc\"".encode())
    started = time.time()
    try:
        while s.recv(4096):
            pass
        closed = True
    except socket.timeout:
        closed = False
    except OSError:
        closed = True
    took = time.time() - started
    s.close()
    return closed and took <= limit_s, f"closed after {took:.1f} s (limit {limit_s} s)" if closed else f"still open after {took:.1f} s"


def picture_flood(base):
    chart = call(base, "list_charts", {"page_size": 1})[3]["items"][0]["id"]
    stop = time.time() + 10
    # Pictures may be drawn, refused (503/429, overloaded, timeout) or still waiting when this
    # client gives up (20 s): all fine under a flood. Anything else (a 500, an internal error)
    # is not.
    pictures = {"ok": 0, "refused": 0, "gave_up": 0, "error": 0}
    errors = []
    lock = threading.Lock()

    def draw():
        while time.time() < stop:
            status, _, is_error, payload, answer = call(base, "get_chart_preview", {"identifier": chart, "format": "png"}, timeout=20)
            kind = "ok" if status == 200 and not is_error else (
                "refused" if status in (503, 429) or (payload or {}).get("error_type") in ("overloaded", "timeout", "unavailable")
                else "gave_up" if status == 0 else "error")
            with lock:
                pictures[kind] += 1
                if kind == "error" and len(errors) < 3:
                    errors.append(f"{status} {str(answer)[:160]}")

    body_result = {}
    partial = threading.Thread(target=lambda: body_result.update(r=partial_body(base, 10 + 3)))
    partial.start()
    threads = [threading.Thread(target=draw, daemon=True) for _ in range(64)]
    for t in threads:
        t.start()
    lat, failures = [], 0
    while time.time() < stop:
        t0 = time.time()
        status, _, is_error, _, _ = call(base, "list_charts", {"page_size": 5}, timeout=10)
        lat.append(time.time() - t0)
        failures += status != 200 or is_error
        time.sleep(0.1)
    # Pictures still drawing when the flood ends may finish on their own time (bounded).
    for t in threads:
        t.join(max(0.0, stop + 20 - time.time()))
    lat.sort()
    p99 = lat[int(len(lat) * 0.99) - 1] if lat else 99
    check("picture-flood", failures == 0 and len(lat) >= 20 and p99 < 2.0 and pictures["error"] == 0,
          f"list_charts {len(lat)} calls, {failures} failed, p99 {p99 * 1000:.0f} ms; pictures {pictures} {errors}")
    partial.join(30)
    ok, detail = body_result.get("r", (False, "no result"))
    check("partial-body", ok, detail + ("" if ok else " (server.request_body_timeout_ms is another change: see the report)"))


def lowered_threads(pid):
    """The server's threads that run below the normal priority (SCHED_IDLE or a nice value
    above 0), as (thread name, policy, nice)."""
    found = []
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/stat") as f:
                stat = f.read()
        except OSError:  # the thread ended meanwhile
            continue
        name = stat[stat.index("(") + 1:stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2:].split()
        nice, policy = int(fields[16]), int(fields[38])  # stat fields 19 and 41
        if policy != 0 or nice != 0:
            found.append((name, policy, nice))
    return found


def no_lowered_threads(server):
    """After the picture flood, no thread of the server stays lowered: a process is reaped
    only once all its threads have run to their end, and under CPU load a SCHED_IDLE thread
    waits seconds for that, so a lowered thread that outlives its work delays every exit."""
    deadline = time.time() + 10
    while True:
        found = lowered_threads(server.proc.pid)
        if not found or time.time() > deadline:
            break
        time.sleep(0.2)
    check("no-lowered-threads", not found, f"threads left lowered: {found[:5]}" if found else "none")


class CpuHogs:
    """Busy loops at the normal priority, two per CPU, for as long as the block runs: a
    stop must be as fast on a loaded machine (where CI runs) as on an idle one."""
    def __enter__(self):
        n = 2 * (os.cpu_count() or 1)
        self.procs = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(n)]
        return self

    def __exit__(self, *_):
        for p in self.procs:
            p.kill()
            p.wait()


def datasource_down(server, cluster):
    base = server.base
    proxy = Proxy(cluster.port)
    r = call(base, "register_database", {"database_name": "warehouse_fault", "url": cluster.url("warehouse", proxy.port)})
    if r[2] or not r[3]:
        return check("datasource-down", False, f"register: {str(r[4])[:300]}")
    db_id = r[3]["id"]
    sql = {"database_id": db_id, "sql": "SELECT 1"}
    ok0 = not call(base, "execute_sql", sql)[2]
    proxy.cut()
    answers = []
    for _ in range(3):
        t0 = time.time()
        _, _, is_error, payload, _ = call(base, "execute_sql", sql, timeout=30)
        answers.append((time.time() - t0, is_error, payload or {}))
    proxy.restore()
    time.sleep(0.5)
    ok1 = not call(base, "execute_sql", sql)[2]
    time.sleep(0.3)
    log_text = server.log()
    downs = len(re.findall(r"database 'warehouse_fault' is down", log_text))
    backs = len(re.findall(r"database 'warehouse_fault' is back", log_text))
    fine = ok0 and ok1 and downs == 1 and backs == 1 and all(
        is_error and p.get("error_type") == "unavailable" and "warehouse_fault" in p.get("error", "") and took < 10
        for took, is_error, p in answers)
    worst = max(a[0] for a in answers)
    check("datasource-down", fine,
          f"before {ok0}, after {ok1}, slowest {worst:.2f} s, log down x{downs} back x{backs}; "
          f"first: {str(answers[0][2])[:200]}")


def metadata_down(server, cluster):
    base = server.base
    cluster.stop()
    request_ids, slow, wrong = [], [], []
    started = time.time()
    for i in range(15):
        t0 = time.time()
        status, headers, _, payload, _ = call(base, "list_charts", {}, timeout=30)
        took = time.time() - t0
        if took > 1.5:
            slow.append(f"call {i} {took:.1f} s")
        if status != 503 or "retry-after" not in headers or (payload or {}).get("error_type") != "unavailable":
            wrong.append(f"call {i}: {status} {str(payload)[:120]}")
        request_ids.append(headers.get("x-request-id"))
        t0 = time.time()
        rs = http_get(base + "/ready", timeout=10)[0]
        if rs != 503 or time.time() - t0 > 0.5:
            wrong.append(f"/ready {rs} in {time.time() - t0:.2f} s")
        time.sleep(0.8)
    outage_s = time.time() - started
    cluster.start()
    t0 = time.time()
    while time.time() - t0 < 15 and http_get(base + "/ready")[0] != 200:
        time.sleep(0.2)
    back = http_get(base + "/ready")[0] == 200
    check("metadata-down", back and not slow and not wrong,
          f"outage {outage_s:.0f} s, ready again after {time.time() - t0:.1f} s; " + "; ".join((slow + wrong)[:5]))
    # Every call made during the outage has its audit record once the store is back.
    ids = [i for i in request_ids if i]
    found = 0
    t0 = time.time()
    while time.time() - t0 < 20:
        quoted = ",".join("'" + i.replace("'", "") + "'" for i in ids)
        found = int(cluster.sql("vizier", f"SELECT count(*) FROM audit_log WHERE request_id IN ({quoted})") or 0)
        if found == len(ids) == 15:
            break
        time.sleep(0.5)
    check("metadata-down-audit", found == len(ids) == 15, f"{found} of {len(ids)} records (15 calls)")


def restart_spool(server, cluster):
    """Records taken while the store is down survive a restart that happens before it is back."""
    base = server.base
    cluster.stop()
    ids = []
    for _ in range(5):
        ids.append(call(base, "list_charts", {}, timeout=30)[1].get("x-request-id"))
    server.stop()
    cluster.start()
    server.start()
    quoted = ",".join("'" + (i or "").replace("'", "") + "'" for i in ids)
    found, t0 = 0, time.time()
    while time.time() - t0 < 15:
        found = int(cluster.sql("vizier", f"SELECT count(*) FROM audit_log WHERE request_id IN ({quoted})") or 0)
        if found == 5:
            break
        time.sleep(0.5)
    check("restart-spool", found == 5 and all(ids), f"{found} of 5 records after a restart")


def fault_db_id(base):
    """The id of the data source datasource-down registered (warehouse_fault), or None."""
    db = call(base, "list_databases", {"search": "warehouse_fault"})[3]
    return next((d["id"] for d in (db or {}).get("items", []) if d.get("database_name", d.get("name")) == "warehouse_fault"), None)


def start_long_calls(base, db_id, n, answers):
    """n execute_sql calls that run far past any grace, each on a thread; each appends
    (seconds, HTTP status, answer) to `answers` when it ends."""
    def long_call():
        t0 = time.time()
        r = call(base, "execute_sql", {"database_id": db_id, "sql": "SELECT count(*) FROM generate_series(1, 400000000) g", "timeout": 60}, 90)
        answers.append((time.time() - t0, r[0], str(r[3])[:160]))

    threads = [threading.Thread(target=long_call, daemon=True) for _ in range(n)]
    for t in threads:
        t.start()
    return threads


def sigterm(server, cluster):
    db_id = fault_db_id(server.base)
    if db_id is None:
        return check("sigterm", False, "no warehouse_fault database")
    answers = []
    threads = start_long_calls(server.base, db_id, 4, answers)
    time.sleep(1.5)
    if answers:
        return check("sigterm", False, f"the long calls ended before SIGTERM: {answers[0]}")
    with CpuHogs():
        t0 = time.time()
        server.proc.send_signal(signal.SIGTERM)
        try:
            server.proc.wait(GRACE_MS / 1000 + 10)
        except subprocess.TimeoutExpired:
            pass
        took = time.time() - t0
    exited = server.proc.poll() is not None
    limit = GRACE_MS / 1000 + 1.5
    for t in threads:
        t.join(5)
    ok = check("sigterm", exited and took <= limit,
               f"exited {exited} after {took:.1f} s (grace {GRACE_MS} ms, limit {limit} s); "
               f"long calls: {[a[:2] for a in answers]}")
    if not ok or os.environ.get("FAULTS_VERBOSE"):
        # Where the time went: the server's own account of its drain, from the signal on.
        lines = server.log().splitlines()
        start = next((i for i, l in enumerate(lines) if "SIGTERM" in l), max(0, len(lines) - 25))
        print("\n".join(l[:400] for l in lines[start:start + 40]), flush=True)


def second_signal(server, cluster):
    """Draining with a long grace, a second SIGTERM ends the process at once (the operator's
    way out; the watcher does it on a thread of its own, whatever the runtime is doing)."""
    server.env = dict(server.env, VIZIER_SERVER__SHUTDOWN_GRACE_MS="60000")
    server.start()
    db_id = fault_db_id(server.base)
    if db_id is None:
        return check("second-signal", False, "no warehouse_fault database")
    threads = start_long_calls(server.base, db_id, 2, [])
    time.sleep(1.0)
    server.proc.send_signal(signal.SIGTERM)
    time.sleep(1.0)
    draining = server.proc.poll() is None
    with CpuHogs():
        t0 = time.time()
        server.proc.send_signal(signal.SIGTERM)
        try:
            server.proc.wait(10)
        except subprocess.TimeoutExpired:
            pass
        took = time.time() - t0
    code = server.proc.poll()
    for t in threads:
        t.join(5)
    check("second-signal", draining and code is not None and took <= 1.0,
          f"still draining after the first: {draining}; exited {code} {took:.1f} s after the second (limit 1.0 s)")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--server", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--pgbin", required=True)
    ap.add_argument("--as-pg", default="")
    ap.add_argument("--only", default="", help="comma-separated check names (for debugging)")
    a = ap.parse_args()
    t_all = time.time()
    cluster = Cluster(a.pgbin, a.work, a.as_pg)
    server = None
    try:
        cluster.init()
        cluster.start()
        cluster.sql("postgres", "CREATE DATABASE vizier")
        cluster.sql("postgres", "CREATE DATABASE warehouse")
        log(f"PostgreSQL cluster on 127.0.0.1:{cluster.port} ({time.time() - t_all:.1f} s)")
        env = {
            "VIZIER_METADATA__URL": cluster.url("vizier"),
            "VIZIER_METADATA__AUTO_MIGRATE": "true",
            "VIZIER_SECRETS__ENCRYPTION_KEY": "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
            "VIZIER_EXAMPLES__ENABLED": "true",
            "VIZIER_EXAMPLES__PATH": os.path.join(a.work, "examples.db"),
            "VIZIER_SPOOL__DIR": os.path.join(a.work, "spool"),
            "VIZIER_SERVER__BIND": "127.0.0.1:0",
            "VIZIER_SERVER__SHUTDOWN_GRACE_MS": str(GRACE_MS),
            "VIZIER_RATE_LIMITS__ENABLED": "false",
            "VIZIER_CACHE__TTL_MS": "0",
            "VIZIER_LOGGING__FORMAT": "json",
        }
        server = Server(a.server, a.work, env)
        server.start()
        log(f"server at {server.base} ({time.time() - t_all:.1f} s)")
        steps = [("garbage", lambda: garbage(server.base)),
                 ("picture-flood", lambda: picture_flood(server.base)),
                 ("no-lowered-threads", lambda: no_lowered_threads(server)),
                 ("datasource-down", lambda: datasource_down(server, cluster)),
                 ("metadata-down", lambda: metadata_down(server, cluster)),
                 ("restart-spool", lambda: restart_spool(server, cluster)),
                 ("sigterm", lambda: sigterm(server, cluster)),
                 ("second-signal", lambda: second_signal(server, cluster))]
        only = [o for o in a.only.split(",") if o]
        for name, step in steps:
            if only and name not in only:
                continue
            t0 = time.time()
            try:
                step()
            except Exception as e:  # a crashed check is a failed check, and the rest still run
                check("check crashed", False, repr(e)[:300])
            log(f"  {name}: {time.time() - t0:.1f} s")
        panics = [l for l in server.log().splitlines() if "panicked" in l or '"panic' in l]
        check("no panics", not panics, panics[0][:300] if panics else "")
    except Exception as e:
        check("set-up", False, repr(e)[:500])
        if server:
            print(server.tail(), flush=True)
    finally:
        if server:
            server.stop()
        cluster.stop()
    passed = sum(1 for _, ok, _ in RESULTS if ok)
    failed = len(RESULTS) - passed
    log(f"{time.time() - t_all:.0f} s in all")
    print(f"faults: {passed} passed, {failed} failed", flush=True)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
