"""The real BentoML server, started as a user starts it (`framing serve`) on a loopback port, called over HTTP."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tarfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from inference.predictor import Predictor
from labels.schema import load_schema
from serving.run import BackgroundServer, free_port

pytestmark = pytest.mark.slow

AXES = {a.name: list(a.labels) for a in load_schema().axes}
HEADERS = {"Content-Type": "application/json"}
ARTICLE = (
    "Seoul weighs its options after the deployment\n\n"
    "By Jane Roe\n\n"
    "South Korea's intelligence service said on Friday that several thousand North Korean soldiers had reached Russia.\n\n"
    "Officials in Seoul said the deployment made a clash on the peninsula no more likely than it was last year.\n\n"
    "Moscow is paying for the troops with oil, food and hard currency, according to the same officials.\n\n"
    "LEAVE A REPLY\n\nGreat article!\n"
)


class Server(BackgroundServer):
    def post(self, path: str, payload=None, **kwargs) -> httpx.Response:
        if payload is not None:
            kwargs["content"] = json.dumps(payload)
            kwargs.setdefault("headers", HEADERS)
        return httpx.post(self.url + path, timeout=60, **kwargs)

    def get(self, path: str) -> httpx.Response:
        return httpx.get(self.url + path, timeout=10)


def start_server(tmp_path: Path, env: dict[str, str], *, args: list[str] = ()) -> Server:
    server = Server(args=args, env=env, log=tmp_path / "server.log")
    return server.wait_ready()


@pytest.fixture(scope="module")
def bentoml_home(tmp_path_factory, tiny_artifact):
    """A private BentoML store holding the tiny artifact, registered as `framing train` does it.

    In a child process: BentoML fixes its home folder when first imported.
    """
    home = tmp_path_factory.mktemp("bentoml")
    code = "import sys; from pathlib import Path; from serving.model_store import register_bentoml; print(register_bentoml(Path(sys.argv[1])))"
    r = subprocess.run([sys.executable, "-c", code, str(tiny_artifact)], env={**os.environ, "BENTOML_HOME": str(home)},
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    return home


@pytest.fixture(scope="module")
def server(tmp_path_factory, bentoml_home):
    """The service with the model taken from the BentoML store by its default tag, small limits to test."""
    env = {"BENTOML_HOME": str(bentoml_home), "FRAMING_MODEL": "", "FRAMING_MAX_TEXTS": "40", "FRAMING_MAX_CHARS": "3000",
           "FRAMING_MAX_BODY_BYTES": "65536"}
    s = start_server(tmp_path_factory.mktemp("srv"), env)
    yield s
    s.stop()


@pytest.fixture(scope="module")
def predictor(tiny_artifact):
    return Predictor.from_artifact(tiny_artifact)


def check_prediction(p: dict) -> None:
    for axis, labels in AXES.items():
        assert p[axis]["label"] in labels
        assert list(p[axis]["probs"]) == labels
        assert abs(sum(p[axis]["probs"].values()) - 1) < 1e-4
        assert p[axis]["label"] == max(p[axis]["probs"], key=p[axis]["probs"].get)
    assert isinstance(p["truncated"], bool) and isinstance(p["model"], str)


def test_classify_answers_in_order_with_the_predictors_output(server, predictor):
    texts = ["Officials said the drills were routine and posed no threat to anyone.",
             "Moscow pays Pyongyang in oil and hard currency for every shipment of shells.",
             "The pact binds the two capitals to a confrontation that could set the region alight."]
    r = server.post("/classify", {"texts": texts})
    assert r.status_code == 200, r.text
    body = r.json()
    expected = predictor.predict(texts)  # the same predictor, in this process: one prediction path
    assert [b["id"] for b in body] == [0, 1, 2]
    for got, want in zip(body, expected):
        check_prediction(got)
        for axis in AXES:
            assert got[axis]["label"] == want[axis]["label"]
            for lab in AXES[axis]:
                assert got[axis]["probs"][lab] == pytest.approx(want[axis]["probs"][lab], abs=1e-4)
        assert got["model"] == predictor.version


def test_classify_echoes_ids_and_flags_truncation(server):
    long_text = " ".join(["The shells kept arriving by rail from the port."] * 30)  # far over the tiny model's 32 tokens
    r = server.post("/classify", {"texts": ["A short passage about a treaty signed in June.", long_text], "ids": ["a", 7]})
    assert r.status_code == 200, r.text
    body = r.json()
    assert [b["id"] for b in body] == ["a", 7]
    assert [b["truncated"] for b in body] == [False, True]


def test_one_passage_may_be_sent_as_a_plain_string(server, predictor):
    text = "Officials said the drills were routine and posed no threat to anyone."
    r = server.post("/classify", {"texts": text})
    assert r.status_code == 200, r.text
    body = r.json()
    assert len(body) == 1 and body[0]["id"] == 0
    assert body[0]["risk_framing"]["label"] == predictor.predict([text])[0]["risk_framing"]["label"]


def test_classify_document(server, predictor):
    r = server.post("/classify_document", {"text": ARTICLE})
    assert r.status_code == 200, r.text
    body = r.json()
    expected = predictor.predict_document(ARTICLE)
    assert [p["text"] for p in body["passages"]] == [p["text"] for p in expected["passages"]]
    assert len(body["passages"]) == 3  # headline, byline and the comment box are not passages
    head = body["headline"]  # not a passage, but scored and counted toward the document labels
    assert head["text"] == "Seoul weighs its options after the deployment" and ARTICLE[head["start"]:head["end"]] == head["text"]
    assert head["risk_framing"] == expected["headline"]["risk_framing"]
    for p in body["passages"]:
        check_prediction(p)
        assert ARTICLE[p["start"]:p["end"]] == p["text"]
    for axis in AXES:
        doc = body["document"][axis]
        assert doc["label"] == expected["document"][axis]["label"]
        assert doc["supporting_passages"] == expected["document"][axis]["supporting_passages"]
        assert all(body["passages"][i][axis]["label"] == doc["label"] for i in doc["supporting_passages"])


@pytest.mark.parametrize("payload, status, needle", [
    ({"texts": ["fine text here", "   "]}, 400, "texts[1]"),
    ({"texts": ["fine text here", 3]}, 400, "texts[1]"),
    ({"texts": "   "}, 400, "texts[0]"),
    ({"text": ["wrong field"]}, 400, "texts"),
    ({}, 400, "texts"),
    ({"texts": []}, 400, "texts"),
    ({"texts": ["a passage"] * 41}, 400, "texts"),
    ({"texts": ["ok passage", "x" * 3001]}, 400, "texts[1]"),
    ({"texts": ["one", "two"], "ids": [1]}, 400, "ids"),
    ({"texts": ["one"], "ids": [None]}, 400, "ids[0]"),
])
def test_classify_rejects_bad_input_naming_the_field(server, payload, status, needle):
    r = server.post("/classify", payload)
    assert r.status_code == status, r.text
    assert needle in r.json()["error"]


@pytest.mark.parametrize("payload, status, needle", [
    ({"text": ""}, 400, "text"),
    ({"text": 12}, 400, "text"),
    ({"texts": ["not this endpoint"]}, 400, "text"),
    ({"text": "Headline only"}, 422, "no passage"),
])
def test_classify_document_rejects_bad_input(server, payload, status, needle):
    r = server.post("/classify_document", payload)
    assert r.status_code == status, r.text
    assert needle in r.json()["error"]


def test_malformed_json_is_a_400(server):
    r = server.post("/classify", content=b'{"texts": [', headers=HEADERS)
    assert r.status_code == 400 and "error" in r.json()


def test_body_over_the_limit_gets_413_with_or_without_content_length(server):
    big = json.dumps({"texts": ["word " * 500] * 30}).encode()  # 75 kB > the 64 KiB limit
    r = server.post("/classify", content=big, headers=HEADERS)
    assert r.status_code == 413 and "FRAMING_MAX_BODY_BYTES" in r.json()["error"]

    def chunks():  # a generator body is sent chunked, with no Content-Length
        for i in range(0, len(big), 8192):
            yield big[i:i + 8192]

    r = httpx.post(server.url + "/classify", content=chunks(), headers=HEADERS, timeout=30)
    assert r.status_code == 413


def test_pickle_is_refused(server):
    r = server.post("/classify", content=b"\x80\x04K\x01.", headers={"Content-Type": "application/vnd.bentoml+pickle"})
    assert r.status_code == 415


def test_32_concurrent_clients_all_get_their_own_answers(server, predictor):
    texts = [f"Report number {i}: officials described the shipment of {i * 100} shells as routine." for i in range(32)]
    expected = predictor.predict(texts)
    with ThreadPoolExecutor(32) as pool:
        responses = list(pool.map(lambda t: server.post("/classify", {"texts": [t]}), texts))
    assert [r.status_code for r in responses] == [200] * 32
    for r, want in zip(responses, expected):
        for axis in AXES:
            assert r.json()[0][axis]["label"] == want[axis]["label"]


SLOW_HOOK = """
import os
import sys
import time

if os.environ.get("FRAMING_TEST_SLOW_LOAD") or os.environ.get("FRAMING_TEST_SLOW_PREDICT"):
    import inference.predictor

    load = inference.predictor.Predictor.from_artifact.__func__
    predict = inference.predictor.Predictor.predict

    def slow_load(cls, path, **kwargs):
        print("readiness test: the model loads slowly", file=sys.stderr, flush=True)
        time.sleep(float(os.environ.get("FRAMING_TEST_SLOW_LOAD") or 0))
        return load(cls, path, **kwargs)

    def slow_predict(self, texts, **kwargs):
        time.sleep(float(os.environ.get("FRAMING_TEST_SLOW_PREDICT") or 0))
        return predict(self, texts, **kwargs)

    inference.predictor.Predictor.from_artifact = classmethod(slow_load)
    inference.predictor.Predictor.predict = slow_predict
"""


def slow_env(tmp_path: Path, **variables: str) -> dict[str, str]:
    """Environment that slows the server's model (a sitecustomize hook in every process of the server)."""
    hook = tmp_path / "hook"
    hook.mkdir(exist_ok=True)
    (hook / "sitecustomize.py").write_text(SLOW_HOOK)
    return {"PYTHONPATH": os.pathsep.join(filter(None, [str(hook), os.environ.get("PYTHONPATH")])), **variables}


@pytest.fixture(scope="module")
def slow_server(tmp_path_factory, bentoml_home):
    """The service with a model 5 s slower to load and every forward pass 2 s slower; test_sigterm_... stops it."""
    tmp_path = tmp_path_factory.mktemp("slow")
    env = slow_env(tmp_path, BENTOML_HOME=str(bentoml_home), FRAMING_MODEL="", FRAMING_TEST_SLOW_LOAD="5",
                   FRAMING_TEST_SLOW_PREDICT="2")
    s = start_server(tmp_path, env)
    yield s
    s.stop()


def test_not_ready_until_the_model_is_loaded(slow_server):
    # The model takes 5 s longer to load, so a /readyz that answered 200 before the worker had loaded the
    # model would do so long before its log line.
    assert "the model loads slowly" in slow_server.log_when_ready
    assert "loaded model" in slow_server.log_when_ready  # the worker's line, written before /readyz first said 200


def test_health_metrics_and_openapi(server):
    assert server.get("/livez").status_code == 200
    assert server.get("/readyz").status_code == 200
    metrics = server.get("/metrics")
    assert metrics.status_code == 200 and "bentoml_service_request" in metrics.text
    spec = server.get("/docs.json").json()
    assert {"/classify", "/classify_document"} <= set(spec["paths"])
    schemas = spec["components"]["schemas"]
    for axis, labels in AXES.items():
        name = "".join(part.capitalize() for part in axis.split("_"))
        assert schemas[name]["properties"]["label"]["enum"] == labels
        assert list(schemas[f"{name}Probs"]["properties"]) == labels
    assert schemas["ClassifyRequest"]["properties"]["texts"]["maxItems"] == 40


def test_the_openapi_document_tells_the_truth(server):
    # Schemathesis with every check, from the served /docs.json: statuses, error bodies, what the schema admits is served.
    repo = Path(__file__).resolve().parents[2]
    run = subprocess.run([str(Path(sys.executable).with_name("schemathesis")), "--no-color", "--config-file",
                          str(repo / "schemathesis.toml"), "run", server.url + "/docs.json", "--checks", "all",
                          "--max-examples", "25", "--seed", "18"], capture_output=True, text=True, timeout=600)
    shown = re.sub(r"(\S{120})\S{200,}", r"\1...", run.stdout)  # generated bodies can be 200,000 characters
    assert run.returncode == 0, shown[-8000:] + run.stderr[-2000:]
    spec = server.get("/docs.json").json()
    for path in ("/classify", "/classify_document"):
        responses = spec["paths"][path]["post"]["responses"]
        assert {"400", "413", "415", "429", "503", "504"} <= set(responses)
        assert responses["429"]["headers"]["Retry-After"]["schema"]["type"] == "integer"
    assert "422" in spec["paths"]["/classify_document"]["post"]["responses"]


def test_binds_to_loopback_only(server):
    port = int(server.url.rsplit(":", 1)[1])
    listening = subprocess.run(["ss", "-ltnH", f"sport = :{port}"], capture_output=True, text=True)
    if listening.returncode != 0:
        pytest.skip("ss is not available")
    addresses = {line.split()[3].rsplit(":", 1)[0] for line in listening.stdout.splitlines() if line.strip()}
    assert addresses == {"127.0.0.1"}


def test_256_concurrent_clients_with_default_limits_are_all_answered(server):
    # The shared server keeps the default FRAMING_MAX_CONCURRENCY: requests beyond the model's pace queue, not 429.
    async def clients() -> list[int]:
        async with httpx.AsyncClient(timeout=120, limits=httpx.Limits(max_connections=256)) as http:
            responses = await asyncio.gather(*(http.post(server.url + "/classify", json={"texts": [f"Passage {i}: shells by rail."]})
                                              for i in range(256)))
        return [r.status_code for r in responses]

    statuses = asyncio.run(clients())
    assert statuses == [200] * 256, sorted(set(statuses))


def test_full_server_answers_429_with_retry_after_and_slow_requests_504(tmp_path, tiny_artifact):
    s = start_server(tmp_path, {"FRAMING_MAX_CONCURRENCY": "1", "FRAMING_TIMEOUT": "0.1",
                                "FRAMING_MAX_TEXTS": "64", "FRAMING_MAX_CHARS": "20000"},
                     args=["--model", str(tiny_artifact)])
    try:
        slow = {"texts": [f"word{i} " * 2500 for i in range(64)]}  # ~1 MB of text to tokenise: well over 0.1 s
        with ThreadPoolExecutor(4) as pool:
            responses = list(pool.map(lambda _: s.post("/classify", slow), range(4)))
        statuses = sorted(r.status_code for r in responses)
        assert 429 in statuses and 504 in statuses, statuses
        for r in responses:
            assert "error" in r.json()
            if r.status_code == 429:
                assert int(r.headers["Retry-After"]) >= 1 and "FRAMING_MAX_CONCURRENCY" in r.json()["error"]
    finally:
        s.stop()


def test_sigterm_drains_in_flight_requests_then_everything_stops(slow_server):
    # Each forward pass takes 2 s longer, so the 16 requests are still in flight when SIGTERM arrives.
    s = slow_server
    processes = s.processes()
    assert len(processes) >= 3  # framing serve, the BentoML arbiter, its worker
    with ThreadPoolExecutor(16) as pool:
        answers = [pool.submit(s.post, "/classify", {"texts": [f"Passage {i}: the shells arrived by rail."]}) for i in range(16)]
        wait_until(lambda: in_progress(s) == 16, timeout=30)
        os.kill(s.proc.pid, signal.SIGTERM)
        wait_until(lambda: s.get("/readyz").status_code == 503, timeout=10)  # draining, not yet stopped
        refused = s.post("/classify", {"texts": ["One more passage."]})
        statuses = [a.result().status_code for a in answers]
    assert statuses == [200] * 16
    assert refused.status_code == 503 and int(refused.headers["Retry-After"]) >= 1
    assert s.proc.wait(timeout=60) == 0
    assert not [p for p in processes if p.is_running() and p.status() != "zombie"]
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", s.port), timeout=5).close()
    with socket.socket() as probe:  # free for the next server (as servers do, reusing it despite TIME_WAIT connections)
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind(("127.0.0.1", s.port))
        probe.listen()


def in_progress(s: Server) -> float:
    """Requests to /classify the server is working on, from its Prometheus metrics."""
    for line in s.get("/metrics").text.splitlines():
        if line.startswith("bentoml_service_request_in_progress{") and 'endpoint="/classify"' in line:
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def wait_until(condition, *, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"not true after {timeout} s"
        time.sleep(0.05)


def test_missing_model_fails_at_startup_with_one_line(tmp_path):
    missing = tmp_path / "no-model"
    r = subprocess.run([sys.executable, "-m", "framing", "serve", "--model", str(missing), "--port", str(free_port())],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode != 0
    lines = [line for line in r.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "framing train" in lines[0] and str(missing) in lines[0], r.stderr


def test_bentoml_serve_without_a_model_in_the_store_names_the_train_command(tmp_path):
    env = {**os.environ, "BENTOML_HOME": str(tmp_path / "empty-store"), "FRAMING_MODEL": ""}
    r = subprocess.run([sys.executable, "-m", "bentoml", "serve", "serving.service:FramingService", "--port", str(free_port())],
                       capture_output=True, text=True, timeout=120, env=env, cwd=Path(__file__).resolve().parents[2])
    assert r.returncode != 0
    assert "framing train" in r.stderr + r.stdout
    assert "Traceback" not in r.stderr


def test_bentoml_build_packs_the_registered_model(bentoml_home, tmp_path):
    # The service references the model (news-framing:latest), so the bento records that exact version and carries
    # it wherever it goes (export, containerize); nothing is downloaded.
    env = {**os.environ, "BENTOML_HOME": str(bentoml_home), "FRAMING_MODEL": "", "BENTOML_DO_NOT_TRACK": "True"}

    def bentoml(*args: str) -> str:
        run = subprocess.run([sys.executable, "-m", "bentoml", *args], cwd=Path(__file__).resolve().parents[2], env=env,
                             capture_output=True, text=True, timeout=600)
        assert run.returncode == 0, run.stderr
        return run.stdout

    tag = bentoml("build", "--output", "tag").strip().splitlines()[-1].removeprefix("__tag__:")
    model = json.loads(bentoml("models", "get", "news-framing:latest", "--output", "json"))
    version = f"{model['name']}:{model['version']}"
    bento = json.loads(bentoml("get", tag, "--output", "json"))
    assert [m["tag"] for service in bento["services"] for m in service["models"]] == [version]
    folder = bentoml_home / "bentos" / tag.replace(":", "/")
    assert (folder / "src" / "serving" / "service.py").is_file() and not (folder / "src" / "tests").exists()
    assert "torch==2.13.0" in (folder / "env" / "python" / "requirements.txt").read_text().splitlines()
    bentoml("export", tag, str(tmp_path / "framing.bento"))
    with tarfile.open(tmp_path / "framing.bento") as archive:
        names = set(archive.getnames())
    assert f"./models/{model['name']}/{model['version']}/model.safetensors" in names


RENDER_WITHOUT_SCHEMA = """
import asyncio, sys
from _bentoml_impl.serde import JSONSerde
from inference.predictor import Predictor
from serving.service import FramingService

def refuse(*args, **kwargs):
    raise AssertionError("JSON schema built while rendering a response")

for api in FramingService.apis.values():
    api.output_spec.model_json_schema = classmethod(refuse)
text = "Seoul said the drills would go ahead as planned next week."
prediction = {"id": 0, **Predictor.from_artifact(sys.argv[1]).predict([text])[0]}
response = asyncio.run(FramingService.apis["classify"].output_spec.to_http_response([prediction], JSONSerde()))
print(response.media_type)
"""


def test_responses_are_rendered_without_rebuilding_the_json_schema(tiny_artifact):
    """BentoML would rebuild the output's JSON schema per response to find its media type (half the event loop's work)."""
    env = {**os.environ, "FRAMING_MODEL": str(tiny_artifact)}
    run = subprocess.run([sys.executable, "-c", RENDER_WITHOUT_SCHEMA, str(tiny_artifact)], env=env, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.strip().splitlines()[-1] == "application/json"
