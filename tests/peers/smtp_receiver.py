"""An SMTP server for picket's tests: aiosmtpd with STARTTLS required and AUTH (user
"picket", password "s3cret") allowed only after it. Prints {"port": N} once listening, then
one JSON line per message: envelope, decoded subject, text body and attachments.

Usage: smtp_receiver.py [--refuse-first N] [--tls-from-start] CERT KEY [SAVE_DIR]
  (with --tls-from-start, TLS from the first byte, as on port 465, instead of STARTTLS;
  attachments are also written to SAVE_DIR; with --refuse-first, the first N MAIL commands
  are answered "503 5.5.1 Error: send HELO/EHLO first", as a real server's passing protocol
  error was seen to, and each refusal is printed as {"refused": N})"""

import asyncio
import email
import email.policy
import json
import os
import socket
import ssl
import sys

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

ARGS = sys.argv[1:]
REFUSE_FIRST = 0
if ARGS[:1] == ["--refuse-first"]:
    REFUSE_FIRST = int(ARGS[1])
    ARGS = ARGS[2:]
TLS_FROM_START = ARGS[:1] == ["--tls-from-start"]
if TLS_FROM_START:
    ARGS = ARGS[1:]
CERT, KEY = ARGS[0], ARGS[1]
SAVE_DIR = ARGS[2] if len(ARGS) > 2 else None


def authenticator(server, session, envelope, mechanism, auth_data):
    ok = auth_data.login == b"picket" and auth_data.password == b"s3cret"
    return AuthResult(success=ok)


class Handler:
    refused = 0

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        if self.refused < REFUSE_FIRST:
            self.refused += 1
            print(json.dumps({"refused": self.refused}), flush=True)
            return "503 5.5.1 Error: send HELO/EHLO first"
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        body = msg.get_body(preferencelist=("plain",))
        attachments = []
        for part in msg.iter_attachments():
            data = part.get_payload(decode=True) or b""
            attachments.append({"filename": part.get_filename(),
                                "content_type": part.get_content_type(), "size": len(data)})
            if SAVE_DIR and part.get_filename():
                with open(os.path.join(SAVE_DIR, os.path.basename(part.get_filename())), "wb") as f:
                    f.write(data)
        print(json.dumps({
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "subject": str(msg["subject"]),
            "message_id": str(msg["message-id"]),
            "text": body.get_content() if body else "",
            "attachments": attachments,
            "tls": server.transport.get_extra_info("ssl_object") is not None,
            "authenticated": bool(session.authenticated),
        }), flush=True)
        return "250 OK"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
context.load_cert_chain(CERT, KEY)
port = free_port()
if TLS_FROM_START:
    # aiosmtpd only counts STARTTLS as TLS for AUTH; here the session is TLS throughout.
    encryption = {"ssl_context": context, "auth_require_tls": False}
else:
    encryption = {"tls_context": context, "require_starttls": True, "auth_require_tls": True}
controller = Controller(
    Handler(), hostname="127.0.0.1", port=port, **encryption,
    authenticator=authenticator,
    auth_exclude_mechanism=["CRAM-MD5"],
)
controller.start()
print(json.dumps({"port": port}), flush=True)
try:
    asyncio.run(asyncio.Event().wait())
finally:
    controller.stop()
