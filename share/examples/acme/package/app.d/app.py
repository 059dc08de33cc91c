#!/usr/bin/python3
"""The ACME demo application: one HTTP server reading its rendered config.

GET /     -> "NAME ok"
GET /db   -> "db ADDRESS:PORT reachable" for the first database that
             answers a TCP connect, or 503
SIGHUP re-reads the configuration (rem-render's reload).
"""
import http.server
import os
import signal
import socket
import sys

conf_path, pid_path = sys.argv[1], sys.argv[2]
conf = {}


def load():
    c = {"db": []}
    with open(conf_path) as f:
        for line in f:
            w = line.split()
            if not w or w[0].startswith("#"):
                continue
            if w[0] == "db":
                c["db"].append((w[1], int(w[2])))
            else:
                c[w[0]] = w[1:]
    conf.clear()
    conf.update(c)


class Handler(http.server.BaseHTTPRequestHandler):
    def reply(self, code, text):
        body = (text + "\n").encode()
        self.send_response(code)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        if self.path == "/db":
            for host, port in conf["db"]:
                try:
                    socket.create_connection((host, port), timeout=2).close()
                    return self.reply(200, "db %s:%d reachable" % (host, port))
                except OSError:
                    pass
            return self.reply(503, "no database reachable")
        self.reply(200, "%s ok" % conf["name"][0])

    def log_message(self, fmt, *args):
        sys.stderr.write("%s %s\n" % (self.address_string(), fmt % args))


load()
signal.signal(signal.SIGHUP, lambda s, f: load())
addr, port = conf["listen"][0], int(conf["listen"][1])
server = http.server.ThreadingHTTPServer((addr, port), Handler)
with open(pid_path + ".new", "w") as f:
    f.write("%d\n" % os.getpid())
os.rename(pid_path + ".new", pid_path)
server.serve_forever()
