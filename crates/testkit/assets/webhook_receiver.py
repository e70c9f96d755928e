# A webhook receiver for tests: verifies each delivery with the `standardwebhooks`
# library (PyPI), the way an integrator's receiver would, and records what came.
# Listens on 127.0.0.1 on a free port, which it prints first. Control, from the test:
#   PUT /_secret   the whsec_ secret to verify with
#   PUT /_mode     "up" (verify, 204 or 401), "down" (503), or "redirect <url>" (307)
#   GET /_received {"attempts": n, "received": [{id, timestamp, signature, body,
#                  verified, payload | error}, ...]}
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks.webhooks import Webhook

STATE = {"secret": None, "mode": "up", "received": [], "attempts": 0}
LOCK = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def read_body(self):
        return self.rfile.read(int(self.headers.get("content-length", "0")))

    def answer(self, status, body=b"", headers=()):
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("content-length", str(len(body)))
        self.send_header("connection", "close")
        self.end_headers()
        self.wfile.write(body)
        self.close_connection = True

    def do_PUT(self):
        text = self.read_body().decode()
        with LOCK:
            if self.path == "/_secret":
                STATE["secret"] = text
            elif self.path == "/_mode":
                STATE["mode"] = text
            else:
                return self.answer(404)
        self.answer(204)

    def do_GET(self):
        if self.path != "/_received":
            return self.answer(404)
        with LOCK:
            body = json.dumps({"attempts": STATE["attempts"], "received": STATE["received"]}).encode()
        self.answer(200, body, [("content-type", "application/json")])

    def do_POST(self):
        data = self.read_body()
        headers = {k.lower(): v for k, v in self.headers.items()}
        with LOCK:
            STATE["attempts"] += 1
            mode, secret = STATE["mode"], STATE["secret"]
        if mode == "down":
            return self.answer(503)
        if mode.startswith("redirect "):
            return self.answer(307, b"", [("location", mode[len("redirect "):])])
        record = {
            "id": headers.get("webhook-id"),
            "timestamp": headers.get("webhook-timestamp"),
            "signature": headers.get("webhook-signature"),
            "body": data.decode("utf-8", "replace"),
        }
        try:
            record["payload"] = Webhook(secret).verify(data, headers)
            record["verified"] = True
            status = 204
        except Exception as e:  # the library's refusal, or a secret never set
            record["verified"] = False
            record["error"] = f"{type(e).__name__}: {e}"
            status = 401
        with LOCK:
            STATE["received"].append(record)
        self.answer(status)


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(server.server_address[1], flush=True)
server.serve_forever()
