"""Public submissions over HTTP: Kuager against a bare Flask app on cheroot, same run.

    python -m bench.web_load [--clients 16] [--requests 25] [--rounds 2]

Both servers run in their own process on loopback with the same cheroot settings (threads,
timeouts); the same client (``--clients`` threads, one keep-alive connection each) posts
the same multipart bodies: a small report, and one with a 1 MiB attachment. The bare app
parses the form and reads the file to the end, then answers 303 like Kuager does. Kuager
does everything it does for a reporter: CSRF, validation, encrypted spool, SQLCipher
commit (durable: fsynced) before the 303. Rounds alternate between the two servers, so
load on the machine hits both alike; the table shows the best round of each.
"""

from __future__ import annotations

import argparse
import http.client
import os
import re
import secrets
import statistics
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from pathlib import Path

PY = sys.executable
PASSPHRASE = "benchmark passphrase words orbit"  # noqa: S105 - a throw-away store
MIB = 1 << 20

BARE_APP = textwrap.dedent('''
    import sys
    from cheroot import wsgi
    from flask import Flask, redirect, request
    sys.path.insert(0, sys.argv[2])
    from app.web import server as kuager_server

    app = Flask(__name__)

    @app.route("/", methods=["GET", "POST"])
    def submit():
        if request.method == "POST":
            for upload in request.files.getlist("attachments"):
                while upload.stream.read(1 << 20):
                    pass
            return redirect("/thanks", 303)
        return '<input name="csrf_token" type="hidden" value="x">'

    server = wsgi.Server(("127.0.0.1", int(sys.argv[1])), app,
                         numthreads=kuager_server.PUBLIC_THREADS,
                         timeout=kuager_server.PUBLIC_SOCKET_TIMEOUT)
    server.prepare()
    print(server.bind_addr[1], flush=True)
    server.serve()
''')


class Client:
    """One keep-alive connection; cookies and the CSRF token kept across posts."""

    def __init__(self, port: int) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        self.cookie = ""
        status, page = self.request("GET", "/")
        match = re.search(rb'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', page)
        if status != 200 or not match:
            raise RuntimeError(f"no form: {status}")
        self.csrf = match.group(1).decode()

    def request(self, method: str, path: str, body: bytes | None = None,
                headers: dict[str, str] | None = None) -> tuple[int, bytes]:
        headers = dict(headers or {})
        if self.cookie:
            headers["Cookie"] = self.cookie
        self.conn.request(method, path, body=body, headers=headers)
        response = self.conn.getresponse()
        data = response.read()
        for name, value in response.getheaders():
            if name.lower() == "set-cookie":
                self.cookie = value.split(";", 1)[0]
        return response.status, data

    def submit(self, attachment: bytes) -> int:
        boundary = "----bench" + secrets.token_hex(8)
        fields = [("csrf_token", self.csrf), ("title", "Пикет у акимата"),
                  ("description", "Активиста задержали на 15 суток. " * 20),
                  ("occurred_on", "2026-01-12"), ("occurred_precision", "day"),
                  ("region", "almaty_city"), ("place", "Алматы"), ("rights", "assembly"),
                  ("acts", "detention_administrative"), ("sensitivity", "normal"),
                  ("save", "1")]
        parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
                 .encode() + value.encode() + b"\r\n" for name, value in fields]
        if attachment:
            parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="attachments";'
                         f' filename="evidence.bin"\r\nContent-Type: application/octet-stream'
                         f"\r\n\r\n".encode() + attachment + b"\r\n")
        body = b"".join(parts) + f"--{boundary}--\r\n".encode()
        status, _ = self.request("POST", "/", body, {
            "Content-Type": f"multipart/form-data; boundary={boundary}"})
        return status


def load(port: int, clients: int, requests: int, attachment: bytes) -> dict[str, float]:
    """``clients`` threads × ``requests`` posts; req/s over the wall time, latency p50/p99."""
    ready = [Client(port) for _ in range(clients)]
    latencies: list[float] = []
    failures: list[int] = []
    lock = threading.Lock()

    def run(client: Client) -> None:
        for _ in range(requests):
            start = time.perf_counter()
            status = client.submit(attachment)
            elapsed = time.perf_counter() - start
            with lock:
                latencies.append(elapsed)
                if status != 303:
                    failures.append(status)

    threads = [threading.Thread(target=run, args=(c,)) for c in ready]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - start
    if failures:
        raise RuntimeError(f"{len(failures)} posts failed: {sorted(set(failures))}")
    latencies.sort()
    return {"rps": len(latencies) / wall, "p50": statistics.median(latencies),
            "p99": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]}


def start_kuager(tmp: Path) -> tuple[subprocess.Popen[str], int]:
    data = tmp / "store"
    subprocess.run([PY, "-m", "app", "--data", str(data), "init", "--role", "field"],
                   input=PASSPHRASE + "\n", text=True, check=True, capture_output=True)
    env = dict(os.environ, KUAGER_PUBLIC_SUBMISSIONS_PER_HOUR="1000000000")
    proc = subprocess.Popen([PY, "-m", "app", "--data", str(data), "serve", "--port", "0",
                             "--public-port", "0", "--no-browser"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                            env=env)
    assert proc.stdin is not None  # noqa: S101
    assert proc.stdout is not None  # noqa: S101
    proc.stdin.write(PASSPHRASE + "\n")
    proc.stdin.close()
    proc.stdout.readline()  # the operator pages
    public = proc.stdout.readline().strip()
    return proc, int(public.rsplit(":", 1)[1].strip("/"))


def start_bare() -> tuple[subprocess.Popen[str], int]:
    root = str(Path(__file__).resolve().parent.parent)
    proc = subprocess.Popen([PY, "-c", BARE_APP, "0", root], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True)
    assert proc.stdout is not None  # noqa: S101
    return proc, int(proc.stdout.readline())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--requests", type=int, default=25, help="posts per client and round")
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    sizes = {"small report": b"", "1 MiB attachment": os.urandom(MIB)}
    best: dict[tuple[str, str], dict[str, float]] = {}
    with tempfile.TemporaryDirectory(dir=os.environ.get("KUAGER_BENCH_DIR")) as tmp:
        kuager, kuager_port = start_kuager(Path(tmp))
        bare, bare_port = start_bare()
        try:
            for _ in range(args.rounds):
                for label, attachment in sizes.items():
                    for name, port in (("bare Flask", bare_port), ("Kuager", kuager_port)):
                        result = load(port, args.clients, args.requests, attachment)
                        key = (label, name)
                        if key not in best or result["rps"] > best[key]["rps"]:
                            best[key] = result
        finally:
            for proc in (kuager, bare):
                proc.terminate()
                proc.wait(timeout=20)
    print(f"Public submissions, {args.clients} clients x {args.requests} posts, best of "
          f"{args.rounds} interleaved rounds (load average {os.getloadavg()[0]:.2f})")
    print(f"{'':18} {'server':11} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'ratio':>7}")
    for label in sizes:
        base = best[(label, "bare Flask")]["rps"]
        for name in ("bare Flask", "Kuager"):
            r = best[(label, name)]
            print(f"{label:18} {name:11} {r['rps']:8.1f} {r['p50'] * 1000:8.1f} "
                  f"{r['p99'] * 1000:8.1f} {r['rps'] / base:7.2f}")


if __name__ == "__main__":
    main()
