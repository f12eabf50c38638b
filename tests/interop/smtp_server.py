"""A real SMTP server for the delivery tests and the SMTP benchmark: aiosmtpd on loopback.

    smtp_server.py --dir DIR [--port N] [--refuse ADDRESS ...] [--delay SECONDS]
                   [--tls starttls|implicit --cert PEM --key PEM]

Listens on 127.0.0.1:N (0, the default, picks a free port) and prints `listening on PORT`
once it accepts connections. Each accepted message is written to DIR as one JSON file
(`{"from", "to", "message_id", "subject", "data"}`, written under a temporary name and
renamed, so a reader never sees half a file). RCPT TO an address given with --refuse is
answered 550; --delay waits that long before accepting each message (so a test can kill its
client mid-drain). With --tls, the server presents the certificate --cert (key --key):
`starttls` offers STARTTLS and refuses mail before it (as a relay requiring TLS does),
`implicit` speaks TLS from the first byte (SMTPS, port 465 style). Runs until killed.
"""

import argparse
import asyncio
import email.parser
import email.policy
import itertools
import json
import os
import ssl
import sys

from aiosmtpd.smtp import SMTP


class Handler:
    def __init__(self, directory, refused, delay):
        self.directory = directory
        self.refused = {a.lower() for a in refused}
        self.delay = delay
        self.counter = itertools.count(1)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.lower() in self.refused:
            return f"550 5.1.1 <{address}>: mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.delay:
            await asyncio.sleep(self.delay)
        data = envelope.original_content.decode("utf-8", "replace")
        headers = email.parser.Parser(policy=email.policy.default).parsestr(data, headersonly=True)
        record = {
            "from": envelope.mail_from,
            "to": envelope.rcpt_tos,
            "message_id": str(headers.get("Message-ID", "")),
            "subject": str(headers.get("Subject", "")),
            "data": data,
        }
        name = f"{os.getpid()}-{next(self.counter):06d}.json"
        temporary = os.path.join(self.directory, "." + name)
        with open(temporary, "w", encoding="utf-8") as f:
            json.dump(record, f)
        os.rename(temporary, os.path.join(self.directory, name))
        return "250 Message accepted for delivery"


async def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--dir", required=True)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--refuse", action="append", default=[])
    parser.add_argument("--delay", type=float, default=0.0)
    parser.add_argument("--tls", choices=["starttls", "implicit"])
    parser.add_argument("--cert")
    parser.add_argument("--key")
    args = parser.parse_args()
    context = None
    if args.tls:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(args.cert, args.key)
    starttls = context if args.tls == "starttls" else None
    os.makedirs(args.dir, exist_ok=True)
    handler = Handler(args.dir, args.refuse, args.delay)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        # The messages are iMIP e-mails: 8-bit bodies, no SMTPUTF8 needed.
        lambda: SMTP(
            handler,
            decode_data=False,
            enable_SMTPUTF8=True,
            hostname="smtp.test",
            tls_context=starttls,
            require_starttls=starttls is not None,
        ),
        host="127.0.0.1",
        port=args.port,
        ssl=context if args.tls == "implicit" else None,
    )
    port = server.sockets[0].getsockname()[1]
    print(f"listening on {port}", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        sys.exit(0)
