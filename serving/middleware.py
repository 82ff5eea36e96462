"""ASGI middleware in front of the BentoML service.

RequestGuardMiddleware   refuses POST bodies that are not JSON, pickle included (415), and bodies over the size limit (413) before
                         anything parses them: it checks Content-Length, then counts the bytes actually
                         received (chunked bodies have no Content-Length) and hands the app a body it
                         has already measured.
ErrorMessageMiddleware   gives every 4xx JSON error one `error` line naming the field and item index
                         (`texts[3]: ...`), from BentoML's validation details, and unwraps BentoML's
                         one-item error lists, so all input errors share the shape {"error": ..., "detail"?: [...]}.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers") or ():
        if key.lower() == name:
            return value.decode("latin-1")
    return None


async def send_json(send: Send, status: int, payload: dict, *, headers: list[tuple[bytes, bytes]] = ()) -> None:
    body = json.dumps(payload).encode("utf-8")
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()), *headers]})
    await send({"type": "http.response.body", "body": body, "more_body": False})


def _json_media_type(content_type: str) -> bool:
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or (media.startswith("application/") and media.endswith("+json"))


class RequestGuardMiddleware:
    def __init__(self, app: ASGIApp, max_body_bytes: int) -> None:
        if max_body_bytes < 1:
            raise ValueError(f"max_body_bytes must be at least 1, got {max_body_bytes}")
        self.app = app
        self.max_body_bytes = max_body_bytes

    def _too_large(self, size: str) -> dict:
        return {"error": f"request body is {size}; the limit is {self.max_body_bytes:,} bytes (FRAMING_MAX_BODY_BYTES): "
                         "send fewer or shorter texts per request"}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        content_type = _header(scope, b"content-type") or ""
        if scope.get("method") == "POST" and content_type and not _json_media_type(content_type):
            # Pickle is never unpickled, and a form or multipart body is not what the API reads.
            await send_json(send, 415, {"error": f"content type {content_type!r} is not accepted; send application/json"})
            return
        length = _header(scope, b"content-length")
        if length is not None:
            try:
                declared = int(length)
            except ValueError:
                await send_json(send, 400, {"error": f"Content-Length header {length!r} is not a number of bytes"})
                return
            if declared > self.max_body_bytes:
                await send_json(send, 413, self._too_large(f"{declared:,} bytes"))
                return

        # Read and count the whole body first: a chunked body declares no length, and one that lies
        # about its length must not get past us either. Bodies are small (the limit is a few MB).
        chunks: list[bytes] = []
        received = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return  # the client went away; nothing to answer
            chunk = message.get("body", b"")
            received += len(chunk)
            if received > self.max_body_bytes:
                await send_json(send, 413, self._too_large(f"over {self.max_body_bytes:,} bytes"))
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break

        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": b"".join(chunks), "more_body": False}
            return await receive()  # after the body: wait for the disconnect, as a server would

        await self.app(scope, replay, send)


def _where(loc: Any) -> str:
    """A pydantic error location as a path: ("texts", 3) -> "texts[3]"."""
    path = ""
    for part in loc or ():
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return path


def error_line(payload: Any) -> Any:
    """BentoML's 4xx error body, with `error` rewritten to one line naming each field path."""
    if isinstance(payload, list) and len(payload) == 1 and isinstance(payload[0], dict) and "error" in payload[0]:
        payload = payload[0]  # BentoML 1.4 wraps its own 4xx errors in a one-item list
    if not isinstance(payload, dict):
        return payload
    detail = payload.get("detail")
    if isinstance(detail, list) and detail and all(isinstance(d, dict) and "msg" in d for d in detail):
        parts = []
        for d in detail:
            where = _where(d.get("loc"))
            parts.append(f"{where}: {d['msg']}" if where else str(d["msg"]))
        payload = {**payload, "error": "; ".join(parts)}
    return payload


class ErrorMessageMiddleware:
    MAX_REWRITE_BYTES = 256 * 1024  # error bodies are small; anything bigger passes through untouched

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start: Message | None = None
        body = bytearray()

        async def wrapped_send(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                content_type = next((v for k, v in message.get("headers", ()) if k.lower() == b"content-type"), b"")
                if 400 <= message["status"] < 500 and content_type.startswith(b"application/json"):
                    start = message  # hold it until the body is complete
                    return
                await send(message)
                return
            if start is None or message["type"] != "http.response.body":
                await send(message)
                return
            body.extend(message.get("body", b""))
            if message.get("more_body", False) and len(body) <= self.MAX_REWRITE_BYTES:
                return
            new_body = bytes(body)
            if not message.get("more_body", False):
                try:
                    new_body = json.dumps(error_line(json.loads(body))).encode("utf-8")
                except ValueError:
                    pass
            headers = [(k, v) for k, v in start.get("headers", ()) if k.lower() != b"content-length"]
            if not message.get("more_body", False):
                headers.append((b"content-length", str(len(new_body)).encode()))
            await send({**start, "headers": headers})
            await send({"type": "http.response.body", "body": new_body, "more_body": message.get("more_body", False)})
            start = None  # anything after this passes straight through

        await self.app(scope, receive, wrapped_send)
