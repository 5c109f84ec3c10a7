"""Measure the verifier's added latency: p50/p99 of scoring 1, 2 and 4 pairs, several models side by side.

The models (``--model name=path``, repeated) run through ``CrossEncoderScorer`` (tokenization
included) with the same session settings, in
interleaved rounds so that a neighbour's load hits both alike. Writes ``work/latency_threads<N>.json``;
with ``--threads 1`` it also records the calling thread's CPU time (what a quiet core would take).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from common import ARTIFACT, REPO, WORK

sys.path.insert(0, str(REPO))
from litellm_semcache.models.cross_encoder import CrossEncoderScorer

PAIRS = [
    ("How many legs does an insect have?", "How many legs does a spider have?"),
    ("What's the biggest ocean on the planet?", "Which is the largest ocean on Earth?"),
    ("How do I reset my password?", "I forgot my password, how can I change it?"),
    ("Convert 100 F to C", "Convert 100 Fahrenheit to Celsius"),
]


def scorer_for(model: Path, threads: int) -> CrossEncoderScorer:
    """A scorer over the shipped tokenizer and card with another ONNX file."""
    folder = Path(tempfile.mkdtemp(prefix="verifier-latency-"))
    for name in os.listdir(ARTIFACT):
        if name != "model.onnx":
            shutil.copyfile(ARTIFACT / name, folder / name)
    os.symlink(model.resolve(), folder / "model.onnx")
    return CrossEncoderScorer.load(folder, threads=threads)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--model",
        action="append",
        default=[],
        metavar="NAME=PATH",
        help="an ONNX file to time, with a name (repeat; default: the shipped model.onnx)",
    )
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--per-round", type=int, default=50)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path, default=None, help="default work/latency_threads<N>.json")
    args = parser.parse_args()

    models = dict(m.split("=", 1) for m in args.model) or {"shipped": str(ARTIFACT / "model.onnx")}
    scorers = {name: scorer_for(Path(path), args.threads) for name, path in models.items()}
    times: dict[str, list[float]] = {f"{m}/{n}": [] for m in scorers for n in (1, 2, 4)}
    cpu: dict[str, list[float]] = {key: [] for key in times}
    for scorer in scorers.values():  # warm-up
        for n in (1, 2, 4):
            for _ in range(20):
                scorer.score(PAIRS[:n])
    for _ in range(args.rounds):
        for name, scorer in scorers.items():
            for n in (1, 2, 4):
                for _ in range(args.per_round):
                    started, started_cpu = time.perf_counter(), time.thread_time()
                    scorer.score(PAIRS[:n])
                    times[f"{name}/{n}"].append((time.perf_counter() - started) * 1000)
                    cpu[f"{name}/{n}"].append((time.thread_time() - started_cpu) * 1000)
    result: dict[str, Any] = {
        key: {
            "p50_ms": float(np.percentile(v, 50)),
            "p99_ms": float(np.percentile(v, 99)),
            "calls": len(v),
            # with --threads 1 the whole call runs on this thread: its CPU time is what a quiet core takes
            "calling_thread_cpu_p50_ms": float(np.percentile(cpu[key], 50)),
        }
        for key, v in times.items()
    }
    result["models"] = {
        name: {"path": str(path), "bytes": Path(path).stat().st_size} for name, path in models.items()
    }
    result["load_average_after"] = dict(zip(("1m", "5m", "15m"), os.getloadavg(), strict=True))
    print("pairs | " + " | ".join(f"{m} p50 / p99 ms (thread CPU p50)" for m in scorers))
    for n in (1, 2, 4):
        cells = [
            f"{result[f'{m}/{n}']['p50_ms']:6.2f} / {result[f'{m}/{n}']['p99_ms']:6.2f} "
            f"({result[f'{m}/{n}']['calling_thread_cpu_p50_ms']:5.2f})"
            for m in scorers
        ]
        print(f"{n:5d} | " + " | ".join(cells))
    print(f"load average after: {os.getloadavg()}")
    result["threads"] = args.threads
    out = args.out or WORK / f"latency_threads{args.threads}.json"
    out.write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
