"""A real SIA DC-09 receiver for picket's tests: pysiaalarm (the receiver Home Assistant
uses) on an ephemeral TCP port (or the port given as second argument), or UDP with the
argument `udp`. A third argument lists SIA codes this centre does not know (comma
separated; it answers DUH to them, as a centre with a restricted code table does).
With the flag --close-after-ack (anywhere), it closes each TCP connection right after an
ACK, printing {"closed": N}, as a receiver that takes one message per connection does.
Prints {"port": N} once listening, then one JSON line per event it accepted, written
before its ACK goes out (pysiaalarm itself answers first and reports after, so a receiver
killed in between would have acknowledged an event nobody saw).
Accounts: 1234 (clear), AAA1 (AES-128), BBB2 (AES-256), CCC3 (AES-256, a key of 32 hex
digits taken as text)."""

import asyncio
import json
import sys

from pysiaalarm import SIAAccount
from pysiaalarm.aio import SIAClient
from pysiaalarm.aio.server import SIAServerTCP
from pysiaalarm.data.data import SIA_CODES
from pysiaalarm.event import SIAEvent
from pysiaalarm.utils import CommunicationsProtocol, ResponseType

ACCOUNTS = [
    SIAAccount("1234", None),
    SIAAccount("AAA1", "PicketTestKey128"),
    SIAAccount("BBB2", "PicketTestKey256PicketTestKey256"),
    # What `openssl rand -hex 16` prints, taken (as pysiaalarm and Home Assistant do) as
    # 32 characters of text: an AES-256 key.
    SIAAccount("CCC3", "0123456789abcdef0123456789ABCDEF"),
]


def report(event):
    print(json.dumps({
        "account": event.account,
        "message_type": getattr(event.message_type, "value", str(event.message_type)),
        "encrypted": bool(event.encrypted),
        "sequence": event.sequence,
        "code": event.code,
        "ri": event.ri,
        "message": getattr(event, "message", None),
        "event_qualifier": getattr(event, "event_qualifier", None),
        "event_type": getattr(event, "event_type", None),
        "partition": getattr(event, "partition", None),
        "x_data": [f"{x.identifier}{x.value}" for x in (event.extended_data or [])],
    }), flush=True)


_create_response = SIAEvent.create_response


def create_response_after_report(event):
    if event.response == ResponseType.ACK:
        report(event)
    return _create_response(event)


SIAEvent.create_response = create_response_after_report


async def on_event(event):
    """Reported already, before the ACK."""


CLOSE_AFTER_ACK = "--close-after-ack" in sys.argv
if CLOSE_AFTER_ACK:
    sys.argv.remove("--close-after-ack")
    _handle_line = SIAServerTCP.handle_line
    closed = 0

    class ClosingAfterAck:
        """The connection's writer, closing it once an ACK went out."""

        def __init__(self, writer):
            self.writer, self.acked = writer, False

        def write(self, data):
            self.writer.write(data)
            self.acked = b'"ACK"' in data

        async def drain(self):
            global closed
            await self.writer.drain()
            if self.acked:
                self.writer.close()
                closed += 1
                print(json.dumps({"closed": closed}), flush=True)

        def close(self):
            self.writer.close()

        async def wait_closed(self):
            await self.writer.wait_closed()

    async def handle_line_closing(self, reader, writer):
        await _handle_line(self, reader, ClosingAfterAck(writer))

    SIAServerTCP.handle_line = handle_line_closing


async def main():
    udp = len(sys.argv) > 1 and sys.argv[1] == "udp"
    protocol = CommunicationsProtocol.UDP if udp else CommunicationsProtocol.TCP
    port = int(sys.argv[2]) if len(sys.argv) > 2 and sys.argv[2] != "0" else 0
    if len(sys.argv) > 3:
        for code in sys.argv[3].split(","):
            SIA_CODES.pop(code, None)
    client = SIAClient("127.0.0.1", port, ACCOUNTS, on_event, protocol=protocol)
    await client.async_start()
    if udp:
        # pysiaalarm 3.2.2's UDP protocol asserts a transport class that Python 3.11's
        # selector transport does not subclass, so it never keeps the transport and never
        # answers. Hand it over ourselves.
        client.sia_server.transport = client.transport
        port = client.transport.get_extra_info("sockname")[1]
    else:
        port = client.server.sockets[0].getsockname()[1]
    print(json.dumps({"port": port}), flush=True)
    await asyncio.Event().wait()


asyncio.run(main())
