"""An HTTPS webhook receiver for picket's tests. Verifies the X-Picket-Signature header
(HMAC-SHA256 over "<timestamp>.<body>" with the shared secret) and answers 200 when it
matches, 401 when it does not. Prints {"port": N} once listening, then one JSON line per
request: {"verified": bool, "path", "headers", "body"}.

Usage: webhook_receiver.py [--refuse-first N] CERT KEY SECRET
  (with --refuse-first, the first N verified requests are answered 422, as a receiver
  rejecting what it cannot process at the moment; they are printed with "refused": true)"""

import hashlib
import hmac
import http.server
import json
import ssl
import sys

ARGS = sys.argv[1:]
REFUSE_FIRST = 0
if ARGS[:1] == ["--refuse-first"]:
    REFUSE_FIRST = int(ARGS[1])
    ARGS = ARGS[2:]
CERT, KEY, SECRET = ARGS[0], ARGS[1], ARGS[2].encode()
REFUSED = [0]


class Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length)
        timestamp = self.headers.get("X-Picket-Timestamp", "")
        signature = self.headers.get("X-Picket-Signature", "")
        expected = "sha256=" + hmac.new(
            SECRET, timestamp.encode() + b"." + body, hashlib.sha256
        ).hexdigest()
        verified = hmac.compare_digest(expected, signature)
        refused = verified and REFUSED[0] < REFUSE_FIRST
        if refused:
            REFUSED[0] += 1
        self.send_response(422 if refused else 200 if verified else 401)
        self.end_headers()
        self.wfile.write(b"not now" if refused else b"ok" if verified else b"bad signature")
        print(json.dumps({
            "refused": refused,
            "verified": verified,
            "path": self.path,
            "headers": {k: v for k, v in self.headers.items()},
            "body": body.decode("utf-8", "replace"),
        }), flush=True)

    def log_message(self, *args):
        pass


server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
context.load_cert_chain(CERT, KEY)
server.socket = context.wrap_socket(server.socket, server_side=True)
print(json.dumps({"port": server.server_address[1]}), flush=True)
server.serve_forever()
