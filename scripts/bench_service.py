"""Service benchmark beside the in-process paths, in one run against a trained artifact; prints a table, writes JSON.

    python scripts/bench_service.py --model artifacts/model --out runs/bench_service.json
    python scripts/bench_service.py --model artifacts/model --clients 256 --seconds 60 --batched 0 0   # 256 clients
    python scripts/bench_service.py --model artifacts/model --clients --batched 0 0 --soak 600 --soak-clients 16

Service: the real server (`framing serve`) on a loopback port; 1, 8 and 32 concurrent clients, each
sending one corpus passage per request for a fixed time, then 8 clients sending 8 passages per request;
throughput in passages/s and p50/p99 latency per request. --soak: that many seconds at --soak-clients, with
the server's resident memory (all its processes) at the start and the end.
In process, with the backend the service serves (the fastest batch-invariant one): one passage at a time
(p50), `score_file` (what `framing score` runs) on every corpus passage, and the transformers pipeline.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import threading
import time
from pathlib import Path

import httpx
import numpy as np

from inference.artifact import load_artifact, read_config
from inference.backends import resolve_backend
from inference.bench import bench_pipeline, latency
from inference.machine import machine
from inference.predictor import Predictor
from labels.corpus import LABELS_DIR, read_jsonl
from serving.batch import score_file
from serving.run import BackgroundServer


def corpus_passages(root: Path) -> list[str]:
    return [p["text"] for _, p in read_jsonl(root / "corpus" / "passages.jsonl")]


def load_clients(url: str, texts: list[str], clients: int, seconds: float, per_request: int = 1) -> dict:
    """`clients` threads, each posting `per_request` passages per request in a loop for `seconds`."""
    latencies: list[float] = []
    errors: list[int] = []
    lock = threading.Lock()
    stop_at = time.perf_counter() + seconds

    def client(k: int) -> None:
        with httpx.Client(timeout=120) as http:
            i = k
            while time.perf_counter() < stop_at:
                t0 = time.perf_counter()
                r = http.post(url + "/classify", json={"texts": [texts[(i + m) % len(texts)] for m in range(per_request)]})
                dt = time.perf_counter() - t0
                with lock:
                    (latencies if r.status_code == 200 else errors).append(dt if r.status_code == 200 else r.status_code)
                i += clients * per_request

    start = time.perf_counter()
    threads = [threading.Thread(target=client, args=(k,)) for k in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - start
    ms = np.array(latencies) * 1000
    return {"clients": clients, "passages_per_request": per_request, "requests": len(latencies), "errors": len(errors),
            "error_statuses": {str(k): errors.count(k) for k in sorted(set(errors))}, "seconds": round(elapsed, 2),
            "passages_per_s": round(per_request * len(latencies) / elapsed, 1),
            "p50_ms": round(float(np.percentile(ms, 50)), 1), "p99_ms": round(float(np.percentile(ms, 99)), 1)}


def bench_service(model: Path, texts: list[str], levels: list[tuple[int, int]], seconds: float, workdir: Path,
                  soak: tuple[float, int] | None = None) -> tuple[list[dict], dict | None]:
    """One load run per (clients, passages per request) level against one server, then the soak if asked."""
    server = BackgroundServer(args=["--model", str(model)], log=workdir / "server.log").wait_ready()
    try:
        load_clients(server.url, texts, 4, 3)  # warm-up: first calls pay for lazy initialisation
        runs = [load_clients(server.url, texts, c, seconds, k) for c, k in levels]
        soaked = None
        if soak:
            before = resident_mb(server)
            soaked = load_clients(server.url, texts, soak[1], soak[0])
            after = resident_mb(server)
            soaked.update(rss_mb_start=round(before, 1), rss_mb_end=round(after, 1), rss_growth=round(after / before - 1, 4))
        return runs, soaked
    finally:
        server.stop()


def resident_mb(server: BackgroundServer) -> float:
    """Resident memory of the server's processes (`framing serve`, the arbiter, the worker), in MB."""
    return sum(p.memory_info().rss for p in server.processes()) / 1e6


def served_backend(model: Path) -> str:
    return resolve_backend(read_config(model), model, None, batch_invariant=True)


def bench_in_process(model: Path, texts: list[str]) -> dict:
    """One passage at a time through the served backend, and the transformers pipeline on the same passages."""
    predictor = Predictor.from_artifact(model, backend=served_backend(model))
    predictor.predict(texts[:8])  # warm-up
    single = latency(lambda t: predictor.predict([t]), texts[:200])
    pipeline = bench_pipeline(load_artifact(model), texts, texts[:50])
    return {"backend": predictor.backend, "single_passage": single, "pipeline": pipeline}


def bench_batch(model: Path, texts: list[str], workdir: Path, batch_size: int | None) -> dict:
    src = workdir / "passages.jsonl"
    src.write_text("".join(json.dumps({"id": i, "text": t}) + "\n" for i, t in enumerate(texts)))
    predictor = Predictor.from_artifact(model, batch_size=batch_size, backend=served_backend(model))
    summary = score_file(src, workdir / "scored.jsonl", predictor, progress=False)
    return {"rows": summary.scored, "rejected": summary.rejected, "seconds": round(summary.seconds, 2), "backend": predictor.backend,
            "passages_per_s": round(summary.scored / summary.seconds, 1), "batch_size": predictor.batch_size}


def targets(service: list[dict], in_process: dict, batch: dict) -> dict:
    """The issue's bars: 32 clients >= 2.5x the pipeline and >= 75% of the batch scorer; 1 client p50 <= 1.5x in-process."""
    out = {}
    at = {s["clients"]: s for s in service if s["passages_per_request"] == 1}
    if 32 in at:
        out["32_clients_vs_pipeline"] = round(at[32]["passages_per_s"] / in_process["pipeline"]["passages_per_s"], 2)
        out["32_clients_vs_batch_scorer"] = round(at[32]["passages_per_s"] / batch["passages_per_s"], 2)
    if 1 in at:
        out["1_client_p50_vs_in_process"] = round(at[1]["p50_ms"] / in_process["single_passage"]["p50_ms"], 2)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, default=Path("artifacts/model"))
    parser.add_argument("--clients", type=int, nargs="*", default=[1, 8, 32], help="concurrency levels, one passage per request")
    parser.add_argument("--batched", type=int, nargs=2, metavar=("CLIENTS", "PASSAGES"), default=[8, 8],
                        help="one more level: CLIENTS clients sending PASSAGES passages per request (0 0 to skip)")
    parser.add_argument("--seconds", type=float, default=20.0, help="load time per concurrency level")
    parser.add_argument("--batch-size", type=int, help="batch scorer's batch size (default: the one export measured)")
    parser.add_argument("--soak", type=float, default=0.0, help="seconds of steady load after the levels (0: none)")
    parser.add_argument("--soak-clients", type=int, default=16)
    parser.add_argument("--out", type=Path, default=Path("runs/bench_service.json"))
    args = parser.parse_args()

    texts = corpus_passages(LABELS_DIR)
    lengths = [len(t.split()) for t in texts]
    with tempfile.TemporaryDirectory() as tmp:
        levels = [(c, 1) for c in args.clients] + ([tuple(args.batched)] if min(args.batched) > 0 else [])
        service, soaked = bench_service(args.model, texts, levels, args.seconds, Path(tmp),
                                        (args.soak, args.soak_clients) if args.soak else None)
        batch = bench_batch(args.model, texts, Path(tmp), args.batch_size)
        in_process = bench_in_process(args.model, texts)
    result = {"model": str(args.model), "passages": len(texts), "mean_words": round(float(np.mean(lengths)), 1),
              "service": service, "soak": soaked, "batch": batch, "in_process": in_process,
              "targets": targets(service, in_process, batch), "machine": machine()}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"{len(texts)} corpus passages, mean {result['mean_words']} words; served backend {batch['backend']}")
    print("clients  passages/request  passages/s  p50 ms  p99 ms  errors")
    for s in service + ([soaked] if soaked else []):
        print(f"{s['clients']:>7}  {s['passages_per_request']:>16}  {s['passages_per_s']:>10}  {s['p50_ms']:>6}  {s['p99_ms']:>6}  {s['errors']:>6} {s['error_statuses'] or ''}")
    if soaked:
        print(f"soak: resident memory {soaked['rss_mb_start']} MB -> {soaked['rss_mb_end']} MB ({soaked['rss_growth']:+.1%})")
    print(f"batch scorer: {batch['rows']} passages in {batch['seconds']} s = {batch['passages_per_s']} passages/s")
    print(f"in process: one passage p50 {in_process['single_passage']['p50_ms']} ms; transformers pipeline "
          f"{in_process['pipeline']['passages_per_s']} passages/s")
    print(f"targets: {result['targets']}")
    print(f"written to {args.out}")


if __name__ == "__main__":
    main()
