"""A webhook receiver for Herald on the standard library: verify, deduplicate, print.

    HERALD_WEBHOOK_SECRET=whsec_… .venv/bin/python examples/receiver.py --port 9000

It answers ``POST`` on any path: 204 for a webhook signed with the endpoint's secret
(the ``whsec_…`` of ``GET /api/v1/tenants/{t}/endpoints/{ep}/secret``), 400 otherwise.
"""

import argparse
import os
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from herald_sdk.webhooks import Webhook, WebhookVerificationError


def make_handler(webhook: Webhook) -> type[BaseHTTPRequestHandler]:
    """A request handler that verifies every POST with ``webhook``."""
    seen: set[str] = set()  # in production: a unique column in your database

    class Receiver(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            # Verify the raw bytes, before anything parses them.
            body = self.rfile.read(int(self.headers.get("content-length", 0)))
            try:
                event = webhook.verify(body, dict(self.headers.items()))
            except WebhookVerificationError as exc:
                self.send_error(400, str(exc))
                return
            # Every attempt of a message has the same webhook-id: handle it once, and
            # still answer 2xx to a repeat, or Herald keeps retrying it.
            message_id = self.headers["webhook-id"]
            if message_id not in seen:
                seen.add(message_id)
                print("verified", message_id, event, flush=True)
            self.send_response(204)
            self.end_headers()

    return Receiver


def main() -> None:
    parser = argparse.ArgumentParser(description="Verify and print Herald's webhooks.")
    parser.add_argument("--port", type=int, default=9000)
    args = parser.parse_args()
    webhook = Webhook(os.environ["HERALD_WEBHOOK_SECRET"])
    server = ThreadingHTTPServer(("127.0.0.1", args.port), make_handler(webhook))
    print(f"receiving on http://127.0.0.1:{args.port}/", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
