"""A loopback fake of an OpenAI-compatible ``/v1/chat/completions`` endpoint (Ollama, vLLM, llama.cpp, ...).

The real ``openai`` SDK talks to it over HTTP on 127.0.0.1. Each request pops the next scripted reply, a list of
items: ``{"text": ...}`` (streamed word by word), ``{"tool": name, "input": {...}}`` (arguments streamed in
chunks, as partial JSON), ``{"tool": name, "raw": "..."}`` (arguments exactly as a weak model wrote them),
``{"status": 500}`` (an error reply) or ``{"sleep": seconds}`` (a server that does not answer in time).
"""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class FakeOpenAI:
    def __init__(self, replies: list[list[dict]]):
        self.replies, self.requests = list(replies), []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's naming)
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                fake.requests.append({"path": self.path, "body": body, "headers": dict(self.headers)})
                reply = fake.replies.pop(0) if fake.replies else [{"text": "(script ended)"}]
                for item in reply:
                    if "sleep" in item:
                        time.sleep(item["sleep"])
                    if "status" in item:
                        data = json.dumps({"error": {"message": "model exploded", "type": "server_error"}}).encode()
                        self.send_response(item["status"])
                        self.send_header("Content-Type", "application/json")
                        self.send_header("Content-Length", str(len(data)))
                        self.end_headers()
                        self.wfile.write(data)
                        return
                payload = b"".join(f"data: {json.dumps(c)}\n\n".encode() for c in _chunks(reply, body["model"]))
                payload += b"data: [DONE]\n\n"
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                try:
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):  # the client gave up (a timeout test)
                    pass

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        # A short poll interval: shutdown() waits up to one interval (0.5 s by default) on every exit.
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def __enter__(self) -> "FakeOpenAI":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()


def _chunk(model: str, delta: dict, finish: str | None = None) -> dict:
    return {"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": 0, "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}


def _chunks(reply: list[dict], model: str):
    yield _chunk(model, {"role": "assistant", "content": ""})
    calls = 0
    for item in reply:
        if "text" in item:
            words = item["text"].split(" ")
            for i, word in enumerate(words):  # several deltas, as a real stream sends
                yield _chunk(model, {"content": word if i == len(words) - 1 else word + " "})
        elif "tool" in item:
            raw = item["raw"] if "raw" in item else json.dumps(item.get("input") or {})
            yield _chunk(model, {"tool_calls": [{"index": calls, "id": f"call_{calls}_{item['tool']}",
                                                 "type": "function",
                                                 "function": {"name": item["tool"], "arguments": ""}}]})
            for start in range(0, len(raw), 5):  # the arguments arrive as partial JSON
                yield _chunk(model, {"tool_calls": [{"index": calls, "function": {"arguments": raw[start:start + 5]}}]})
            calls += 1
    yield _chunk(model, {}, "tool_calls" if calls else "stop")
