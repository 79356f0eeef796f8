#!/usr/bin/env python3
"""A local HTTP server for btxpipe's fetch tests (Python 3 stdlib only).

Usage: http_server.py ROOT. Binds 127.0.0.1 on a free port, prints "PORT <n>" and serves ROOT:
  GET/HEAD /files/NAME      the file, honouring "Range: bytes=N-" (206)
  GET /flaky/NAME           500 on the first request for NAME, then like /files/NAME
  GET /cut/NAME             first request: full Content-Length, half the body, then the
                            connection closes; later requests like /files/NAME (with Range)
  GET /norange/NAME         the whole file with 200, ignoring any Range header
  GET /slow/NAME            sends nothing for 5 s (idle-timeout tests)
  GET /auth/NAME            401 unless "Authorization: Bearer secret-token"
  GET /basic/NAME           401 unless HTTP Basic user "u", password "p4ss"
  GET /redirect/URL         302 to URL (percent-encoded in the path)
  GET /slowish/NAME         like /files/NAME, sent in 4 pieces 50 ms apart (concurrent-fetch tests)
  PUT /files/NAME           stores the body
  anything else             404
Each request is appended to ROOT/requests.log as "METHOD PATH RANGE", and to ROOT/auth.log as
"METHOD PATH AUTHORIZATION" (the header's value, or "-": credential-scoping tests read it).
"""
import base64
import os
import sys
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ROOT = sys.argv[1]
seen = {}


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def record(self):
        with open(os.path.join(ROOT, "requests.log"), "a") as log:
            log.write(f"{self.command} {self.path} {self.headers.get('Range', '-')}\n")
        with open(os.path.join(ROOT, "auth.log"), "a") as log:
            log.write(f"{self.command} {self.path} {self.headers.get('Authorization', '-')}\n")

    def path_of(self, prefix):
        name = self.path[len(prefix):]
        return os.path.join(ROOT, "files", name), name

    def send_file(self, path, head=False, cut=False, ranges=True, slow=False):
        if not os.path.isfile(path):
            self.send_error(404)
            return
        data = open(path, "rb").read()
        start = 0
        rng = self.headers.get("Range")
        if ranges and rng and rng.startswith("bytes=") and rng.endswith("-"):
            start = int(rng[6:-1])
            if start >= len(data):
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(data)}")
                self.end_headers()
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        else:
            self.send_response(200)
        body = data[start:]
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if head:
            return
        if cut:
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        if slow:
            step = max(1, len(body) // 4)
            for i in range(0, len(body), step):
                self.wfile.write(body[i:i + step])
                self.wfile.flush()
                time.sleep(0.05)
            return
        self.wfile.write(body)

    def first_time(self, name):
        seen[name] = seen.get(name, 0) + 1
        return seen[name] == 1

    def do_HEAD(self):
        self.record()
        if self.path.startswith("/files/"):
            self.send_file(self.path_of("/files/")[0], head=True)
        else:
            self.send_error(404)

    def do_GET(self):
        self.record()
        if self.path.startswith("/files/"):
            self.send_file(self.path_of("/files/")[0])
        elif self.path.startswith("/flaky/"):
            path, name = self.path_of("/flaky/")
            if self.first_time("flaky/" + name):
                self.send_error(500)
            else:
                self.send_file(path)
        elif self.path.startswith("/cut/"):
            path, name = self.path_of("/cut/")
            self.send_file(path, cut=self.first_time("cut/" + name))
        elif self.path.startswith("/norange/"):
            self.send_file(self.path_of("/norange/")[0], ranges=False)
        elif self.path.startswith("/slowish/"):
            self.send_file(self.path_of("/slowish/")[0], slow=True)
        elif self.path.startswith("/redirect/"):
            self.send_response(302)
            self.send_header("Location", urllib.parse.unquote(self.path[len("/redirect/"):]))
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif self.path.startswith("/slow/"):
            time.sleep(5)
            self.send_error(404)
        elif self.path.startswith("/auth/"):
            if self.headers.get("Authorization") != "Bearer secret-token":
                self.send_error(401)
            else:
                self.send_file(self.path_of("/auth/")[0])
        elif self.path.startswith("/basic/"):
            if self.headers.get("Authorization") != "Basic " + base64.b64encode(b"u:p4ss").decode():
                self.send_error(401)
            else:
                self.send_file(self.path_of("/basic/")[0])
        else:
            self.send_error(404)

    def do_PUT(self):
        self.record()
        if not self.path.startswith("/files/"):
            self.send_error(404)
            return
        path, _ = self.path_of("/files/")
        length = int(self.headers.get("Content-Length", "0"))
        data = self.rfile.read(length)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(data)
        self.send_response(201)
        self.send_header("Content-Length", "0")
        self.end_headers()


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(f"PORT {server.server_address[1]}", flush=True)
server.serve_forever()
