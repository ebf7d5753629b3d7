"""A loopback fake of the Anthropic Messages API that streams scripted replies as server-sent events.

The real SDK talks to it over HTTP on 127.0.0.1, so the test covers the SDK's streaming, tool-use parsing and
our message conversion, without the network. Each request pops the next scripted reply (a list of blocks:
``{"text": ...}`` or ``{"tool": name, "input": {...}}``) and is recorded for assertions.
"""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class FakeAnthropic:
    def __init__(self, replies: list[list[dict]]):
        self.replies, self.requests = list(replies), []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's naming)
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                fake.requests.append({"path": self.path, "body": body, "headers": dict(self.headers)})
                reply = fake.replies.pop(0) if fake.replies else [{"text": "(script ended)"}]
                payload = b"".join(_sse(name, data) for name, data in _events(reply, body.get("model")))
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        # A short poll interval: shutdown() waits up to one interval (0.5 s by default) on every exit.
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def __enter__(self) -> "FakeAnthropic":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()


def _sse(name: str, data: dict) -> bytes:
    return f"event: {name}\ndata: {json.dumps(data)}\n\n".encode()


def _events(blocks: list[dict], model: str | None):
    yield "message_start", {"type": "message_start", "message": {
        "id": "msg_fake", "type": "message", "role": "assistant", "model": model or "fake", "content": [],
        "stop_reason": None, "stop_sequence": None, "usage": {"input_tokens": 10, "output_tokens": 0}}}
    for index, block in enumerate(blocks):
        if "text" in block:
            yield "content_block_start", {"type": "content_block_start", "index": index,
                                          "content_block": {"type": "text", "text": ""}}
            words = block["text"].split(" ")
            for i, word in enumerate(words):  # several deltas, as a real stream sends
                piece = word if i == len(words) - 1 else word + " "
                yield "content_block_delta", {"type": "content_block_delta", "index": index,
                                              "delta": {"type": "text_delta", "text": piece}}
        else:
            yield "content_block_start", {"type": "content_block_start", "index": index, "content_block": {
                "type": "tool_use", "id": f"toolu_{index}_{block['tool']}", "name": block["tool"], "input": {}}}
            raw = json.dumps(block.get("input") or {})
            for start in range(0, len(raw), 7):  # the arguments arrive as partial JSON chunks
                yield "content_block_delta", {"type": "content_block_delta", "index": index,
                                              "delta": {"type": "input_json_delta", "partial_json": raw[start:start + 7]}}
        yield "content_block_stop", {"type": "content_block_stop", "index": index}
    stop = "tool_use" if any("tool" in b for b in blocks) else "end_turn"
    yield "message_delta", {"type": "message_delta", "delta": {"stop_reason": stop, "stop_sequence": None},
                            "usage": {"output_tokens": 5}}
    yield "message_stop", {"type": "message_stop"}
