"""Compare service designs: the same load on `framing serve` from several checkouts, one after another.

    git archive 8875553 | tar -x -C /tmp/two-services      # the earlier two-service design
    python scripts/bench_designs.py --model artifacts/model --tree two-services=/tmp/two-services --tree one-process=. \\
        --order two-services,one-process,one-process,two-services --out runs/bench_designs.json

Each run starts the checkout's own `framing serve` (its code on PYTHONPATH) on a loopback port, warms it up, then
1, 8 and 32 clients send one corpus passage per request for --seconds each (scripts/bench_service.py's load),
and stops it. Interleave the order (a, b, b, a): on a shared machine the load from other work drifts.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from inference.machine import machine  # noqa: E402
from labels.corpus import LABELS_DIR  # noqa: E402
from scripts.bench_service import corpus_passages, load_clients  # noqa: E402
from serving.run import free_port  # noqa: E402


def run_design(tree: Path, model: str, texts: list[str], seconds: float, clients: list[int], log: Path) -> list[dict]:
    """Start `framing serve` from `tree`, load it at each client count, stop it (and everything it started)."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen([sys.executable, "-m", "framing", "serve", "--model", model, "--port", str(port)], cwd=tree,
                            env={**os.environ, "PYTHONPATH": str(tree)}, stdout=log.open("w"), stderr=subprocess.STDOUT,
                            start_new_session=True)
    try:
        deadline = time.monotonic() + 300
        while True:
            try:
                if httpx.get(url + "/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{tree}: server did not start:\n{log.read_text()[-3000:]}")
            time.sleep(0.25)
        load_clients(url, texts, 4, 3)  # warm-up
        return [load_clients(url, texts, c, seconds) for c in clients]
    finally:
        processes = [psutil.Process(proc.pid), *psutil.Process(proc.pid).children(recursive=True)]
        proc.send_signal(signal.SIGTERM)
        for p in psutil.wait_procs(processes, timeout=60)[1]:  # an older design may leave its server behind
            p.kill()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, help="artifact folder")
    parser.add_argument("--tree", action="append", required=True, metavar="NAME=PATH", help="a checkout to run (repeat)")
    parser.add_argument("--order", required=True, help="comma-separated names, e.g. a,b,b,a")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 8, 32])
    parser.add_argument("--out", type=Path, default=Path("runs/bench_designs.json"))
    args = parser.parse_args()
    trees = dict(t.split("=", 1) for t in args.tree)
    order = args.order.split(",")
    unknown = sorted(set(order) - set(trees))
    if unknown:
        parser.error(f"--order names {', '.join(unknown)}, not given with --tree (given: {', '.join(trees)})")
    texts = corpus_passages(LABELS_DIR)
    model = str(Path(args.model).resolve())
    results = []
    for k, name in enumerate(order):
        for r in run_design(Path(trees[name]).resolve(), model, texts, args.seconds, args.clients, Path(f"/tmp/bench_designs_{k}.log")):
            results.append({"design": name, "round": k, **r})
            print(f"{name:<14} {r['clients']:>3} clients  {r['passages_per_s']:>7} passages/s  p50 {r['p50_ms']:>7} ms  "
                  f"p99 {r['p99_ms']:>7} ms  errors {r['errors']} {r['error_statuses'] or ''}", flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"model": args.model, "trees": trees, "order": order, "seconds": args.seconds,
                                    "results": results, "machine": machine()}, indent=1) + "\n")
    print(f"written to {args.out}")


if __name__ == "__main__":
    main()
