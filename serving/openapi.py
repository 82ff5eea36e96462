"""The OpenAPI document at /docs.json: BentoML's, corrected to say every status and error body the service returns.

BentoML documents 400, 404 and 500 for every API with its own error models (`detail` a string) and nothing
else. The service answers errors as {"error": "<one line naming the field>", "detail"?: [pydantic's errors]}
(serving/middleware.py) and also 413, 415, 422 (an article with no passage), 429 and 503 (with Retry-After),
and 504; /readyz answers 503 while the service drains. This module rewrites the responses to say exactly that.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable

from serving.middleware import ASGIApp, Receive, Scope, Send, send_json

logger = logging.getLogger("bentoml.service")
DOCS_PATH = "/docs.json"
ERROR_SCHEMA = {
    "type": "object", "title": "Error", "required": ["error"],
    "properties": {
        "error": {"type": "string", "description": "what is wrong, naming the field and item (`texts[3]: ...`) and the fix"},
        "detail": {"type": "array", "items": {"type": "object"},
                   "description": "for 400 on invalid fields: each problem with its location (pydantic's error objects)"},
    },
}
_RETRY_AFTER = {"Retry-After": {"description": "seconds to wait before sending the request again",
                                "schema": {"type": "integer", "minimum": 1}}}
ERRORS = {
    400: ("Invalid request: malformed JSON, or a missing, wrongly typed, empty or over-long field, or too many texts", None),
    413: ("The body is over FRAMING_MAX_BODY_BYTES (checked before parsing, chunked bodies included)", None),
    415: ("A body that is not JSON (Content-Type other than application/json), pickle included", None),
    429: ("FRAMING_MAX_CONCURRENCY requests are already admitted (running or queued): send it again after Retry-After", _RETRY_AFTER),
    500: ("An unexpected error; the server log has the details", None),
    503: ("The service is shutting down (draining): send it again after Retry-After, to this server once restarted or another one",
          _RETRY_AFTER),
    504: ("The request was not answered within FRAMING_TIMEOUT seconds, queueing included", None),
}
NO_PASSAGE = (422, "The article holds no passage: only headings, bylines or lines under six words, or boilerplate "
                   "(a rule the request schema cannot express in full)")


def _error(description: str, headers: dict | None) -> dict:
    response = {"description": description, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    if headers:
        response["headers"] = headers
    return response


def corrected(spec: dict, *, document_paths: frozenset[str], api_paths: frozenset[str]) -> dict:
    """`spec` (BentoML's document) with the service's real error responses on `api_paths` and /readyz."""
    spec = copy.deepcopy(spec)
    schemas = spec.setdefault("components", {}).setdefault("schemas", {})
    for name in ("InvalidArgument", "NotFound", "InternalServerError"):
        schemas.pop(name, None)
    schemas["Error"] = ERROR_SCHEMA
    for path in api_paths:
        operation = spec["paths"][path]["post"]
        _accepted_as_served(operation["requestBody"])
        ok = operation["responses"]
        responses = {"200": ok.get("200", ok.get(200))}  # BentoML keys statuses by int
        errors = {**ERRORS, **({NO_PASSAGE[0]: (NO_PASSAGE[1], None)} if path in document_paths else {})}
        for status in sorted(errors):
            responses[str(status)] = _error(*errors[status])
        operation["responses"] = responses
    readyz = spec["paths"].get("/readyz", {}).get("get")
    if readyz is not None:
        readyz["responses"]["503"] = _error("Not ready: the service is shutting down (draining)", _RETRY_AFTER)
    return spec


def _accepted_as_served(body: dict) -> None:
    """The request body as the service accepts it: required, `null` for an optional field, one text as a plain string.

    BentoML leaves the body optional and drops the `null` of an optional field; `texts` also takes one string.
    """
    body["required"] = True
    schema = body["content"]["application/json"]["schema"]
    for name, field in schema.get("properties", {}).items():
        if "default" in field and field["default"] is None:
            field["nullable"] = True
    texts = schema.get("properties", {}).get("texts")
    if texts is not None and texts.get("type") == "array":
        one = dict(texts["items"])
        schema["properties"]["texts"] = {"description": texts.pop("description", ""), "title": texts.pop("title", "Texts"),
                                         "anyOf": [texts, one]}


class OpenAPIMiddleware:
    """Answers GET /docs.json with `document()` (computed once), so /docs shows it too."""

    def __init__(self, app: ASGIApp, document: Callable[[], dict]) -> None:
        self.app = app
        self.document = document
        self._cached: dict | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != DOCS_PATH or scope["method"] not in ("GET", "HEAD"):
            await self.app(scope, receive, send)
            return
        if self._cached is None:
            try:
                self._cached = self.document()
            except Exception:  # answer, rather than leave the client waiting for the timeout
                logger.exception("cannot build the OpenAPI document")
                await send_json(send, 500, {"error": "the OpenAPI document could not be built; the server log has the details"})
                return
        await send_json(send, 200, self._cached)
