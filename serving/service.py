"""The HTTP service: `bentoml serve serving.service:FramingService` (binds 127.0.0.1:3000 unless --host/--port).

Two BentoML services, BentoML's pattern for adaptive batching behind an API with more than one parameter:

- `ModelWorker` loads the trained artifact once through `Predictor` and exposes it: a batchable
  list-in/list-out `predict`, so concurrent callers share forward passes, and `predict_document`.
  It runs in its own worker process and is reachable only by `FramingService` (a private socket).
- `FramingService` is what clients call: `/classify` and `/classify_document`, with request
  validation, ids, size limits and traffic limits. It does no prediction of its own.

(A batchable method called from the same service goes back through the HTTP middleware, so each
request would hold two of the `max_concurrency` slots and answer 429 long before the limit.)

Settings come from FRAMING_* environment variables (serving/config.py). If no model is found,
`bentoml serve` stops before starting any worker, with one line naming `framing train`.
"""

import asyncio
import logging

import aiohttp

import bentoml
from bentoml.exceptions import BentoMLException
from starlette.responses import JSONResponse

from serving.config import ConfigError, ModelNotFoundError, Settings, locate_model
from serving.middleware import ErrorMessageMiddleware, RequestGuardMiddleware
from serving.schemas import DocumentPrediction, Prediction, request_models

logger = logging.getLogger("bentoml.service")
INTERNAL_RETRIES = 2


class StartupError(BentoMLException, RuntimeError):
    """Shown by `bentoml serve` as one line (it prints BentoML errors without a traceback)."""


try:
    SETTINGS = Settings.from_env()
except ConfigError as e:
    raise StartupError(str(e)) from None

ClassifyRequest, DocumentRequest = request_models(SETTINGS)


@bentoml.service(traffic={"timeout": SETTINGS.timeout}, workers=1)
class ModelWorker:
    @bentoml.on_deployment
    def check_model() -> None:
        """Runs once in the `bentoml serve` process, before any worker starts."""
        from inference.artifact import read_config
        from inference.backends import BackendError, resolve_backend

        try:
            path = locate_model(SETTINGS.model)
            resolve_backend(read_config(path), path, SETTINGS.backend or None)
        except (ModelNotFoundError, BackendError) as e:
            raise StartupError(str(e)) from None

    def __init__(self) -> None:
        from inference.predictor import Predictor

        path = locate_model(SETTINGS.model)  # ModelNotFoundError: one line naming `framing train`
        # Any compiling (bf16-compiled) happens here, before /readyz answers 200, never in a request.
        self.predictor = Predictor.from_artifact(path, backend=SETTINGS.backend or None)
        p = self.predictor
        warm = f", compiled in {p.warmup_s:.1f} s" if p.warmup_s else ""
        logger.info("loaded model %s from %s (backend %s, batch size %d, %d threads%s)", p.version, path,
                    p.backend, p.batch_size, p.num_threads, warm)

    @bentoml.api(batchable=True, max_batch_size=SETTINGS.max_batch_size, max_latency_ms=int(SETTINGS.timeout * 1000))
    def predict(self, texts: list[str]) -> list[dict]:
        return self.predictor.predict(texts)

    @bentoml.api
    def predict_document(self, text: str) -> dict:
        from inference.predictor import InputError

        try:
            return self.predictor.predict_document(text)
        except InputError as e:  # e.g. no passage in the text: the caller's problem, not a crash
            return {"error": str(e)}


@bentoml.service(
    traffic={"timeout": SETTINGS.timeout, "max_concurrency": SETTINGS.max_concurrency},
    http={"host": "127.0.0.1"},  # BentoML's default is 0.0.0.0; pass --host to expose it
    workers=1,
)
class FramingService:
    model = bentoml.depends(ModelWorker)

    @bentoml.on_startup
    async def wait_for_model(self) -> None:
        """Hold start-up (so /readyz is not 200) until the model worker has loaded the model."""
        if not hasattr(self.model, "is_ready"):  # in-process dependency (bentoml serve --development)
            return
        while True:
            try:
                if await self.model.is_ready(timeout=5):
                    return
            except Exception:  # not listening yet, or busy loading
                pass
            await asyncio.sleep(0.2)

    async def _call(self, name: str, arg):
        if not hasattr(self.model, "to_async"):
            return await asyncio.to_thread(getattr(self.model, name), arg)
        for attempt in range(INTERNAL_RETRIES + 1):
            try:
                return await getattr(self.model.to_async, name)(arg)
            except aiohttp.ClientConnectionError:
                # Under sustained load the model worker closes a kept-alive connection just as the
                # client reuses it; nothing was processed, and prediction is idempotent: send it again.
                if attempt == INTERNAL_RETRIES:
                    raise

    @bentoml.api(input_spec=ClassifyRequest)
    async def classify(self, texts: list[str], ids: list | None = None) -> list[Prediction]:
        """Classify passages: per text, each axis's label and calibrated probabilities, in request order."""
        predictions = await self._call("predict", texts)
        return [{"id": i, **p} for i, p in zip(ids if ids is not None else range(len(texts)), predictions)]

    @bentoml.api(input_spec=DocumentRequest)
    async def classify_document(self, text: str) -> DocumentPrediction:
        """Classify an article: its passages, and per axis the article's label and supporting passages."""
        result = await self._call("predict_document", text)
        if "error" in result:
            return JSONResponse({"error": f"text: {result['error']}"}, status_code=422)
        return DocumentPrediction.model_validate(result)


FramingService.add_asgi_middleware(RequestGuardMiddleware, max_body_bytes=SETTINGS.max_body_bytes)
FramingService.add_asgi_middleware(ErrorMessageMiddleware)
