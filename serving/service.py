"""The HTTP service: `bentoml serve serving.service:FramingService` (binds 127.0.0.1:3000 unless --host/--port).

One BentoML service in one worker process. It loads the model once through `Predictor`, validates
requests (ids, size limits), and hands their texts to an in-process batcher (serving/batcher.py) that
merges concurrent callers into shared forward passes; documents are segmented here and their passages
join the same batches. No second process and no internal HTTP hop: this replaced a design with a
batchable model service in a worker process of its own, which measured slower (README, "The service
as users run it").

The model is a BentoML model reference on the service (FRAMING_MODEL's tag, `news-framing:latest` by
default), so `bentoml build` packs it into the bento; FRAMING_MODEL may instead name an artifact folder,
for development. Admission (429 with Retry-After beyond FRAMING_MAX_CONCURRENCY requests) and draining
on SIGTERM are in serving/traffic.py. If no model is found, `bentoml serve` stops before starting any
worker, with one line naming `framing train`.
"""

import logging

import bentoml
from bentoml.exceptions import BentoMLException
from starlette.responses import JSONResponse

from serving.batcher import Batcher
from serving.config import ConfigError, ModelNotFoundError, Settings, locate_model, model_reference
from serving.middleware import ErrorMessageMiddleware, RequestGuardMiddleware
from serving.openapi import OpenAPIMiddleware, corrected
from serving.schemas import DocumentPrediction, Prediction, request_models
from serving.traffic import Traffic, TrafficMiddleware, drain_on_signals

logger = logging.getLogger("bentoml.service")


class StartupError(BentoMLException, RuntimeError):
    """Shown by `bentoml serve` as one line (it prints BentoML errors without a traceback)."""


try:
    SETTINGS = Settings.from_env()
    MODEL = model_reference(SETTINGS.model)  # None when FRAMING_MODEL is an artifact folder
except (ConfigError, ModelNotFoundError) as e:
    raise StartupError(str(e)) from None

ClassifyRequest, DocumentRequest = request_models(SETTINGS)
TRAFFIC = Traffic(max_requests=SETTINGS.max_concurrency)


# No BentoML max_concurrency: it refuses at once, without Retry-After; TrafficMiddleware admits and queues instead.
@bentoml.service(traffic={"timeout": SETTINGS.timeout}, http={"host": "127.0.0.1"}, workers=1)
class FramingService:
    if MODEL is not None:
        model_ref = MODEL  # a BentoML model reference: `bentoml build` records its version and the bento carries it

    @bentoml.on_deployment
    def check_model() -> None:
        """Runs once in the `bentoml serve` process, before any worker starts."""
        from inference.artifact import read_config
        from inference.backends import BackendError, resolve_backend

        try:
            path = locate_model(model_source())
            resolve_backend(read_config(path), path, SETTINGS.backend or None, batch_invariant=True)
        except (ModelNotFoundError, BackendError) as e:
            raise StartupError(str(e)) from None

    def __init__(self) -> None:
        from inference.artifact import read_config
        from inference.backends import choose_backend
        from inference.predictor import Predictor

        path = locate_model(model_source())  # ModelNotFoundError: one line naming `framing train`
        # Callers share batches, so only a backend whose output for a passage does not depend on its batch-mates.
        choice = choose_backend(read_config(path), path, SETTINGS.backend or None, batch_invariant=True)
        if choice.fallback_reason:
            logger.warning(choice.fallback_reason)
        # Any compiling (bf16-compiled) happens here, before /readyz answers 200, never in a request.
        self.predictor = p = Predictor.from_artifact(path, backend=choice.name)
        self.batcher = Batcher(p.predict, max_batch_size=SETTINGS.max_batch_size)
        TRAFFIC.retry_after = self.batcher.seconds_to_clear
        warm = f", compiled in {p.warmup_s:.1f} s" if p.warmup_s else ""
        logger.info("loaded model %s from %s (backend %s, batch size %d, %d threads%s)", p.version, path,
                    p.backend, p.batch_size, p.num_threads, warm)

    @bentoml.on_startup
    async def drain_before_stopping(self) -> None:
        """SIGTERM/SIGINT: refuse new requests, finish admitted ones within FRAMING_GRACE_PERIOD, then stop."""
        drain_on_signals(TRAFFIC, SETTINGS.grace_period)

    @bentoml.api(input_spec=ClassifyRequest)
    async def classify(self, texts: list[str], ids: list | None = None) -> list[Prediction]:
        """Classify passages: per text, each axis's label and calibrated probabilities, in request order."""
        predictions = await self.batcher.predict(texts)
        return [{"id": i, **p} for i, p in zip(ids if ids is not None else range(len(texts)), predictions)]

    @bentoml.api(input_spec=DocumentRequest)
    async def classify_document(self, text: str) -> DocumentPrediction:
        """Classify an article: its passages, and per axis the article's label and supporting passages."""
        from inference.predictor import InputError, document_texts

        try:
            spans, title = self.predictor.segment_document(text)
        except InputError as e:  # e.g. no passage in the text: the caller's problem, not a crash
            return JSONResponse({"error": f"text: {e}"}, status_code=422)
        predictions = await self.batcher.predict(document_texts(spans, title))
        result = self.predictor.aggregate_document(spans, title, predictions, self.predictor.document_rule)
        return DocumentPrediction.model_validate(result)


def model_source() -> str:
    """Where the model comes from: the exact version a bento was built with when serving one, else FRAMING_MODEL.

    (news-framing:latest in the local store may be a newer model than the one the bento was built and tested with.)
    """
    bento = FramingService.bento
    if MODEL is None or bento is None:
        return SETTINGS.model
    carried = [m.tag for m in bento.info.all_models if m.tag.name == MODEL.tag.name]
    return str(carried[0]) if carried else SETTINGS.model


def openapi_document() -> dict:
    """BentoML's OpenAPI document with the statuses and error bodies the service really returns (serving/openapi.py)."""
    return corrected(FramingService.openapi_spec.asdict(), api_paths=API_PATHS,
                     document_paths=frozenset({FramingService.apis["classify_document"].route}))


def declare_json_responses() -> None:
    """Both APIs answer JSON: say so once. Otherwise BentoML rebuilds the output's JSON schema on every response
    just to learn its media type (1.2 ms per response, half the event loop's work per /classify request under load)."""
    for api in FramingService.apis.values():
        api.output_spec.media_type = "application/json"


declare_json_responses()
API_PATHS = frozenset(method.route for method in FramingService.apis.values())
FramingService.add_asgi_middleware(OpenAPIMiddleware, document=openapi_document)
FramingService.add_asgi_middleware(TrafficMiddleware, traffic=TRAFFIC, paths=API_PATHS)
FramingService.add_asgi_middleware(RequestGuardMiddleware, max_body_bytes=SETTINGS.max_body_bytes)
FramingService.add_asgi_middleware(ErrorMessageMiddleware)
