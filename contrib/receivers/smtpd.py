#!/usr/bin/python3
# smtpd.py DIR [--port N] [--auth LOGIN:PASSWORD]: an SMTP receiver for the
# tests, on 127.0.0.1 only.  It listens on port N (0, the default: one the
# kernel picks), writes the port to DIR/port once it accepts connections,
# and saves each message it takes as DIR/N.eml (the data as received) and
# DIR/N.env (MAIL FROM, each RCPT TO, and AUTH with the login and password
# given, when there was one).  With --auth, a client must log in with that
# login and password (AUTH without TLS: only ever on loopback).
# Files appear whole (written beside, then renamed), so a test may poll.
import argparse
import asyncio
import os
import socket

from aiosmtpd.smtp import SMTP, AuthResult

ap = argparse.ArgumentParser()
ap.add_argument("dir")
ap.add_argument("--port", type=int, default=0)
ap.add_argument("--auth")
args = ap.parse_args()


def put(name, data):
    tmp = os.path.join(args.dir, "." + name)
    with open(tmp, "wb") as f:
        f.write(data)
    os.rename(tmp, os.path.join(args.dir, name))


class Handler:
    n = 0

    async def handle_DATA(self, server, session, envelope):
        Handler.n += 1
        env = "MAIL FROM %s\n" % envelope.mail_from
        for r in envelope.rcpt_tos:
            env += "RCPT TO %s\n" % r
        a = getattr(session, "auth_data", None)
        if a is not None:
            env += "AUTH %s %s\n" % (a.login.decode(), a.password.decode())
        put("%d.eml" % Handler.n, envelope.original_content)
        put("%d.env" % Handler.n, env.encode())
        return "250 OK"


def authenticator(server, session, envelope, mechanism, auth_data):
    ok = args.auth is None or (
        "%s:%s" % (auth_data.login.decode(), auth_data.password.decode()) == args.auth)
    return AuthResult(success=ok, auth_data=auth_data if ok else None)


async def main():
    # bound here, so port 0 needs no guess and no race
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", args.port))
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: SMTP(Handler(), hostname="rem-test", authenticator=authenticator,
                     auth_required=args.auth is not None, auth_require_tls=False),
        sock=sock)
    put("port", b"%d\n" % sock.getsockname()[1])
    async with server:
        await server.serve_forever()


asyncio.run(main())
