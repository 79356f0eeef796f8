#!/usr/bin/env python3
"""A fault-injecting remote store for btxpipe's remote tests (Python 3 stdlib only).

Usage: fault_store_server.py ROOT. Binds 127.0.0.1 on a free port, prints "PORT <n>". Every URL is
/<MODE>/<PATH>; all modes read and write the same files under ROOT/files/<PATH>, so a test can push
through /ok/ and pull through a faulty mode. GET honours "Range: bytes=N-". Modes (GET only; HEAD
and PUT always behave):
  ok          a plain WebDAV-like store
  flaky       500 on the first GET of each path
  fail        500 always
  cut         first GET of each path: full Content-Length, half the body, connection closed
  wrongonce   first GET of each path: one byte flipped; then correct
  wrong       one byte flipped, always
  slow        first GET of each path: nothing for 3 s, then the body
  redirect    302 to the same path on another host (127.0.0.2)
Each request is appended to ROOT/requests.log as "METHOD PATH RANGE".
"""
import os
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ROOT = sys.argv[1]
MODES = {"ok", "flaky", "fail", "cut", "wrongonce", "wrong", "slow", "redirect"}
seen = {}


def first_time(key):
    seen[key] = seen.get(key, 0) + 1
    return seen[key] == 1


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def parse(self):
        with open(os.path.join(ROOT, "requests.log"), "a") as log:
            log.write(f"{self.command} {self.path} {self.headers.get('Range', '-')}\n")
        parts = self.path.lstrip("/").split("/", 1)
        if len(parts) != 2 or parts[0] not in MODES or ".." in parts[1]:
            self.reply(404, b"")
            return None, None
        return parts[0], os.path.join(ROOT, "files", parts[1])

    def reply(self, code, body, headers=()):
        self.send_response(code)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def do_HEAD(self):
        mode, path = self.parse()
        if mode is None:
            return
        if not os.path.isfile(path):
            self.reply(404, b"")
            return
        self.send_response(200)
        self.send_header("Content-Length", str(os.path.getsize(path)))
        self.end_headers()

    def do_GET(self):
        mode, path = self.parse()
        if mode is None:
            return
        if mode == "redirect":
            self.reply(302, b"", [("Location", f"http://127.0.0.2:{self.server.server_address[1]}{self.path}")])
            return
        if mode == "fail" or (mode == "flaky" and first_time(self.path)):
            self.reply(500, b"server error")
            return
        if not os.path.isfile(path):
            self.reply(404, b"")
            return
        data = bytearray(open(path, "rb").read())
        if mode == "wrong" or (mode == "wrongonce" and first_time(self.path)):
            data[len(data) // 2] ^= 0x55
        if mode == "slow" and first_time(self.path):
            time.sleep(3)
        start = 0
        rng = self.headers.get("Range")
        headers = []
        code = 200
        if rng and rng.startswith("bytes=") and rng.endswith("-"):
            start = int(rng[6:-1])
            if start >= len(data):
                self.reply(416, b"", [("Content-Range", f"bytes */{len(data)}")])
                return
            code = 206
            headers.append(("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}"))
        body = bytes(data[start:])
        if mode == "cut" and first_time(self.path):
            self.send_response(code)
            for name, value in headers:
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        self.reply(code, body, headers)

    def do_PUT(self):
        mode, path = self.parse()
        if mode is None:
            return
        length = int(self.headers.get("Content-Length", "0"))
        data = self.rfile.read(length)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        temp = f"{path}.part{os.getpid()}.{time.time_ns()}"
        with open(temp, "wb") as f:
            f.write(data)
        os.replace(temp, path)
        self.reply(201, b"")


os.makedirs(os.path.join(ROOT, "files"), exist_ok=True)
server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(f"PORT {server.server_address[1]}", flush=True)
server.serve_forever()
