#!/usr/bin/env python3
"""Parse an e-mail (RFC 5322 / MIME) from stdin with Python's standard `email`
package and print a JSON summary, for agenda's invite tests.

Output:
    {
      "from", "to", "subject" (decoded), "date", "message_id",
      "content_type": top-level type,
      "tree": nested [type, [children]] of the MIME structure,
      "calendar": {            # the text/calendar part inside multipart/alternative
          "method": the method= parameter, "charset",
          "text": decoded body
      } or null,
      "text_plain": decoded text/plain body or null,
      "attachments": [{"type", "filename", "text"}]
    }
Exits non-zero when the message cannot be parsed or has defects.
"""
import json
import sys
from email import policy
from email.parser import BytesParser


def tree(part):
    if part.is_multipart():
        return [part.get_content_type(), [tree(p) for p in part.iter_parts()]]
    return [part.get_content_type(), []]


def main():
    raw = sys.stdin.buffer.read()
    msg = BytesParser(policy=policy.default).parsebytes(raw)
    defects = list(msg.defects)
    for part in msg.walk():
        defects.extend(part.defects)
    if defects:
        print(f"MIME defects: {defects}", file=sys.stderr)
        return 1
    calendar = None
    text_plain = None
    attachments = []
    for part in msg.walk():
        if part.get_content_type() == "multipart/alternative":
            for alt in part.iter_parts():
                if alt.get_content_type() == "text/calendar":
                    calendar = {
                        "method": alt.get_param("method"),
                        "charset": alt.get_content_charset(),
                        "text": alt.get_content(),
                    }
                elif alt.get_content_type() == "text/plain":
                    text_plain = alt.get_content()
        elif part.get_content_disposition() == "attachment":
            attachments.append({
                "type": part.get_content_type(),
                "filename": part.get_filename(),
                "text": part.get_payload(decode=True).decode("utf-8"),
            })
    out = {
        "from": str(msg["From"]),
        "to": str(msg["To"]),
        "subject": str(msg["Subject"]),
        "date": str(msg["Date"]),
        "message_id": str(msg["Message-ID"]),
        "content_type": msg.get_content_type(),
        "tree": tree(msg),
        "calendar": calendar,
        "text_plain": text_plain,
        "attachments": attachments,
    }
    sys.stdout.write(json.dumps(out, ensure_ascii=False, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
