#!/usr/bin/env python3
"""A scripted HTTP server for backout's tests and example plans (python3 standard library only).

Usage:
  http_test_server.py [--port N] [--port-file PATH] [--tls-cert CERT --tls-key KEY]

Binds 127.0.0.1 (port 0 = a free port, the default), prints the port on stdout as one line
and, with --port-file, also writes it to PATH (atomically: a temp file renamed into place, so
a reader never sees half a number). With --tls-cert/--tls-key it speaks HTTPS instead.
SIGTERM and SIGINT stop it. tests/support/http_server.h starts it from C++ tests.

Application routes (every request to them is recorded, see GET /_recorded):
  GET    /admin/maintenance   200 {"maintenance": bool, "changes": N}
  POST   /admin/maintenance   turns maintenance mode on; a JSON body with "on" or "enabled"
                              false turns it off instead (seed 003 posts {"enabled": true});
                              200 {"maintenance": bool, "changes": N}
  DELETE /admin/maintenance   turns it off; 204, no body
  GET    /healthz             the next status of the health script (POST /_control/health),
                              then its "then" status (200 by default); body
                              {"status": "healthy", "checks": "ok", "poll": N} for a 2xx,
                              {"status": "unhealthy", "checks": "failing", "poll": N} otherwise
  GET    /metrics             200 {"requests": N, "errors": E, "error_rate": E/N,
                              "maintenance": bool}; N counts the recorded requests unless set
  GET    /metrics/errors      200 {"errors": E, "error_rate": E/N}
  ANY    /hooks/...           a webhook: answers the hook status (200 by default, see
                              /_control/hooks) with {"received": true}
  ANY    /echo/...            200 {"method", "path", "query", "headers", "body"}: the request
                              as received (lets a test see that a secret sent in a header and
                              echoed in a body is kept out of what backout records)
  ANY    /status/NNN          answers status NNN, body {"status": NNN} (none for 204 and 304)
  GET    /bytes/N             200, N bytes of "x" as text/plain
  ANY    /hang/...            never answers (the connection stays open until the client gives
                              up or the server stops): for timeouts and cancellation
  anything else               404 {"error": "no such route"}

Control routes (not recorded):
  GET    /_recorded           200 [{"method", "path", "query", "headers": {lowercase name:
                              value}, "body"}, ...] every application request, oldest first;
                              a /hang request is recorded before it starts hanging
  DELETE /_recorded           forgets them; 204
  GET    /_control/state      200 {"maintenance", "maintenance_changes", "health_script",
                              "health_then", "hook_status", "metrics"}
  POST   /_control/health     {"statuses": [503, 503, 200], "then": 200}: the next /healthz
                              answers, in order, then "then" for good ({"then": 500} alone:
                              500 always); 204
  POST   /_control/hooks      {"status": 500}: what /hooks/... answer from now on; 204
  POST   /_control/metrics    {"errors": E, "requests": N}: fixed figures for /metrics; 204
  POST   /_control/reset      everything back to the start state (maintenance off, health
                              200, hooks 200, metrics counted, nothing recorded); 204
"""

import argparse
import json
import os
import signal
import ssl
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit


class State:
    """Everything the routes share; one lock guards it (the server runs a thread per request)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.reset()

    def reset(self):
        self.maintenance = False
        self.maintenance_changes = 0
        self.health_script = []
        self.health_then = 200
        self.health_polls = 0
        self.hook_status = 200
        self.metrics = None  # None: count the recorded requests
        self.recorded = []

    def snapshot(self):
        return {
            "maintenance": self.maintenance,
            "maintenance_changes": self.maintenance_changes,
            "health_script": list(self.health_script),
            "health_then": self.health_then,
            "hook_status": self.hook_status,
            "metrics": self.metrics,
        }


STATE = State()


def json_body(raw):
    """The request body as JSON, or None when it is empty or not JSON."""
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return None


class Handler(BaseHTTPRequestHandler):
    server_version = "backout-test-server/1"

    def log_message(self, fmt, *args):  # to stderr, which the test harness keeps
        sys.stderr.write("%s %s\n" % (self.log_date_time_string(), fmt % args))

    # One entry point for every method: the routes below decide what a method means.
    def do_GET(self):
        self.dispatch()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_GET

    def do_HEAD(self):
        self.dispatch()

    def read_body(self):
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def answer(self, status, payload=None, content_type="application/json"):
        data = b""
        if payload is not None and status not in (204, 304):
            data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        self.send_response(status)
        if data:
            self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if data and self.command != "HEAD":
            self.wfile.write(data)

    def dispatch(self):
        parts = urlsplit(self.path)
        path, query = parts.path, parts.query
        raw = self.read_body()
        body_text = raw.decode("utf-8", "replace")
        if path == "/_recorded" or path.startswith("/_control/"):
            return self.control(path, json_body(raw))
        entry = {
            "method": self.command,
            "path": path,
            "query": query,
            "headers": {k.lower(): v for k, v in self.headers.items()},
            "body": body_text,
        }
        with STATE.lock:
            STATE.recorded.append(entry)
        self.route(path, entry, json_body(raw))

    def route(self, path, entry, body):
        method = self.command
        if path == "/admin/maintenance":
            with STATE.lock:
                if method == "POST":
                    wanted = True
                    if isinstance(body, dict):
                        wanted = bool(body.get("on", body.get("enabled", True)))
                    STATE.maintenance = wanted
                    STATE.maintenance_changes += 1
                elif method == "DELETE":
                    STATE.maintenance = False
                    STATE.maintenance_changes += 1
                elif method != "GET":
                    return self.answer(405, {"error": "GET, POST or DELETE"})
                state = {"maintenance": STATE.maintenance,
                         "changes": STATE.maintenance_changes}
            return self.answer(204 if method == "DELETE" else 200, state)
        if path == "/healthz":
            with STATE.lock:
                status = STATE.health_script.pop(0) if STATE.health_script else STATE.health_then
                STATE.health_polls += 1
                polls = STATE.health_polls
            healthy = 200 <= status < 300
            return self.answer(status, {"status": "healthy" if healthy else "unhealthy",
                                        "checks": "ok" if healthy else "failing",
                                        "poll": polls})
        if path in ("/metrics", "/metrics/errors"):
            with STATE.lock:
                figures = STATE.metrics or {"requests": len(STATE.recorded), "errors": 0}
                maintenance = STATE.maintenance
            requests = figures.get("requests", 0)
            errors = figures.get("errors", 0)
            rate = errors / requests if requests else 0.0
            if path == "/metrics/errors":
                return self.answer(200, {"errors": errors, "error_rate": rate})
            return self.answer(200, {"requests": requests, "errors": errors,
                                     "error_rate": rate, "maintenance": maintenance})
        if path.startswith("/hooks/"):
            with STATE.lock:
                status = STATE.hook_status
            return self.answer(status, {"received": True})
        if path.startswith("/echo"):
            return self.answer(200, entry)
        if path.startswith("/status/"):
            try:
                status = int(path[len("/status/"):])
            except ValueError:
                return self.answer(400, {"error": "expected /status/NNN"})
            return self.answer(status, {"status": status})
        if path.startswith("/bytes/"):
            try:
                count = int(path[len("/bytes/"):])
            except ValueError:
                return self.answer(400, {"error": "expected /bytes/N"})
            return self.answer(200, b"x" * count, "text/plain")
        if path.startswith("/hang"):
            # Until the server stops; the thread is a daemon, so it never delays the exit.
            STATE.stopping.wait()
            return None
        return self.answer(404, {"error": "no such route"})

    def control(self, path, body):
        method = self.command
        body = body if isinstance(body, dict) else {}
        with STATE.lock:
            if path == "/_recorded":
                if method == "DELETE":
                    STATE.recorded = []
                    return self.answer(204)
                return self.answer(200, list(STATE.recorded))
            if path == "/_control/state":
                return self.answer(200, STATE.snapshot())
            if method != "POST":
                return self.answer(405, {"error": "control routes take POST"})
            if path == "/_control/health":
                STATE.health_script = [int(s) for s in body.get("statuses", [])]
                STATE.health_then = int(body.get("then", 200))
            elif path == "/_control/hooks":
                STATE.hook_status = int(body.get("status", 200))
            elif path == "/_control/metrics":
                STATE.metrics = {"requests": int(body.get("requests", 0)),
                                 "errors": int(body.get("errors", 0))}
            elif path == "/_control/reset":
                STATE.reset()
            else:
                return self.answer(404, {"error": "no such control route"})
        return self.answer(204)


def write_port_file(path, port):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % port)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--port-file")
    parser.add_argument("--tls-cert")
    parser.add_argument("--tls-key")
    args = parser.parse_args()

    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    if args.tls_cert:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(args.tls_cert, args.tls_key)
        # The handshake happens in the request's thread, so a client that never sends one
        # (plain HTTP to this port) cannot block the accept loop.
        server.socket = context.wrap_socket(server.socket, server_side=True,
                                            do_handshake_on_connect=False)

    def stop(*_):
        STATE.stopping.set()
        # shutdown() waits for serve_forever, which runs in this (the main) thread.
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)

    port = server.server_address[1]
    print(port, flush=True)
    if args.port_file:
        write_port_file(args.port_file, port)
    server.serve_forever(poll_interval=0.1)
    server.server_close()


if __name__ == "__main__":
    main()
