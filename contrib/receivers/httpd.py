#!/usr/bin/python3
# httpd.py DIR [--status CODE]: an HTTP receiver for the tests, on
# 127.0.0.1 only, on a port the kernel picks (written to DIR/port once it
# accepts connections).  Each POST is saved as DIR/N.req (the request line,
# then the headers as received) and DIR/N.body; the answer's status is the
# number in DIR/status when that file exists, else CODE (200); a refusal
# says "no: PATH".
import argparse
import os
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
import threading

ap = argparse.ArgumentParser()
ap.add_argument("dir")
ap.add_argument("--status", type=int, default=200)
args = ap.parse_args()
lock = threading.Lock()
count = 0


def put(name, data):
    tmp = os.path.join(args.dir, "." + name)
    with open(tmp, "wb") as f:
        f.write(data)
    os.rename(tmp, os.path.join(args.dir, name))


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        global count
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        with lock:
            count += 1
            n = count
        put("%d.body" % n, body)
        put("%d.req" % n, ("%s\n%s" % (self.requestline, self.headers)).encode())
        status = args.status
        try:
            with open(os.path.join(args.dir, "status")) as f:
                status = int(f.read().strip())
        except FileNotFoundError:
            pass
        # a refusal quotes the path, as some services do: what REM tells
        # of it must not show a secret the path held
        answer = b"ok\n" if status < 300 else b"no: " + self.path.encode() + b"\n"
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, fmt, *a):
        pass


srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
put("port", b"%d\n" % srv.server_address[1])
srv.serve_forever()
