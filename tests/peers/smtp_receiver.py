"""An SMTP server for picket's tests: aiosmtpd with STARTTLS required and AUTH (user
"picket", password "s3cret") allowed only after it. Prints {"port": N} once listening, then
one JSON line per message: envelope, decoded subject, text body and attachments.

Usage: smtp_receiver.py CERT KEY [SAVE_DIR]   (attachments are also written to SAVE_DIR)"""

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

CERT, KEY = sys.argv[1], sys.argv[2]
SAVE_DIR = sys.argv[3] if len(sys.argv) > 3 else None


def authenticator(server, session, envelope, mechanism, auth_data):
    ok = auth_data.login == b"picket" and auth_data.password == b"s3cret"
    return AuthResult(success=ok)


class Handler:
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
            "tls": session.ssl is not None,
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
controller = Controller(
    Handler(), hostname="127.0.0.1", port=port, tls_context=context,
    require_starttls=True, authenticator=authenticator, auth_require_tls=True,
    auth_exclude_mechanism=["CRAM-MD5"],
)
controller.start()
print(json.dumps({"port": port}), flush=True)
try:
    asyncio.run(asyncio.Event().wait())
finally:
    controller.stop()
