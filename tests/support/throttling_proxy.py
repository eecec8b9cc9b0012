#!/usr/bin/env python3
"""An HTTP proxy on 127.0.0.1 that throttles like DynamoDB, for the adapter's retry tests.

It answers the first --throttle requests (every request when negative) with HTTP 400 and
DynamoDB's ThrottlingException JSON, and passes the others on to --upstream (dynalite),
returning its answer unchanged. It listens on a free port and writes that port to
--port-file (written whole, then renamed into place, so a reader never sees half of it).
Started and killed by tests/support/dynamo_server.cc. Python standard library only.
"""
import argparse
import http.server
import os
import sys
import threading
import urllib.error
import urllib.request

THROTTLED_BODY = (b'{"__type":"com.amazonaws.dynamodb.v20120810#ThrottlingException",'
                  b'"message":"Rate of requests exceeds the allowed throughput."}')
# Headers passed on to the upstream; the rest (Host, Content-Length) urllib sets itself.
FORWARDED = ("authorization", "content-type", "x-amz-target", "x-amz-date",
             "x-amz-security-token", "x-amz-content-sha256")


class State:
    def __init__(self, upstream, throttle):
        self.upstream = upstream
        self.throttle = throttle
        self.seen = 0
        self.lock = threading.Lock()

    def should_throttle(self):
        with self.lock:
            self.seen += 1
            return self.throttle < 0 or self.seen <= self.throttle


def make_handler(state):
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):  # quiet: the tests read nothing from stderr
            pass

        def answer(self, status, body, content_type="application/x-amz-json-1.0"):
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            if state.should_throttle():
                self.answer(400, THROTTLED_BODY)
                return
            headers = {k: v for k, v in self.headers.items() if k.lower() in FORWARDED}
            request = urllib.request.Request(state.upstream, data=body, headers=headers,
                                             method="POST")
            try:
                with urllib.request.urlopen(request, timeout=30) as reply:
                    self.answer(reply.status, reply.read(), reply.headers.get("Content-Type"))
            except urllib.error.HTTPError as error:  # 4xx/5xx from upstream: pass it on
                self.answer(error.code, error.read(), error.headers.get("Content-Type"))
            except (urllib.error.URLError, OSError) as error:
                self.answer(502, str(error).encode(), "text/plain")

    return Handler


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--upstream", required=True)
    parser.add_argument("--throttle", type=int, required=True)
    parser.add_argument("--port-file", required=True)
    args = parser.parse_args()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                             make_handler(State(args.upstream, args.throttle)))
    temp = args.port_file + ".tmp"
    with open(temp, "w") as f:
        f.write(str(server.server_address[1]))
    os.rename(temp, args.port_file)
    server.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
