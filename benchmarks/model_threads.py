"""How many threads a model call should get: the embedder and the verifier, one lone request at a time;
and what running the cacheability classifier beside the embedder saves.

A proxy's model calls come between other work (parsing, Redis round trips, LiteLLM's own bookkeeping), not
in a tight loop, so this benchmark runs them at that spacing: embed the question, wait a Redis round trip,
score it against a stored paraphrase with the verifier, then idle as the rest of a request would. The same
requests run through each thread choice in turn (interleaved, so a noisy neighbour hits all of them), with
the package's own classes (``OnnxEncoder``, ``CrossEncoderScorer``). A second table times the three model
passes of a paraphrase hit at the shipped threads (embedder, text cacheability classifier, verifier), alone
and with the classifier beside the embedder as the pipeline runs it, or after it: how much of the
classifier's pass the two cores hide.

    python -m benchmarks.model_threads             # writes benchmarks/results/model_threads.{json,md}
    python -m benchmarks.model_threads --quick     # 40 requests, writes model_threads.quick.*
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from benchmarks.common import RESULTS_DIR, command_line, cpu_model, log, publish
from harness.measure import percentiles
from litellm_semcache.embedding import Embedder
from litellm_semcache.embedding.onnx_encoder import OnnxEncoder
from litellm_semcache.models.cacheability_text import TextCacheabilityModel
from litellm_semcache.models.cross_encoder import CrossEncoderScorer

MODULE = "benchmarks.model_threads"
PAIRS = (
    ("Name the highest mountain in the world.", "What is the tallest mountain in the world?"),
    ("How do I reset my password in the app?", "What are the steps to change my password in the app?"),
    ("Which is the biggest ocean on the planet?", "What is the largest ocean on Earth?"),
    ("how long does a passport renewal take", "How long does it take to renew a passport?"),
    ("Explain what a hash map is.", "What is a hash map and how does it work?"),
)


@dataclass(frozen=True)
class Choice:
    name: str
    embed_threads: int
    embed_spin: bool
    verify_threads: int
    verify_spin: bool


CHOICES = (
    Choice("1 thread each", 1, False, 1, False),
    Choice("2 spinning threads each (previous release)", 2, True, 2, True),
    Choice("2 threads each, not spinning", 2, False, 2, False),
    Choice("embedder on 2 spinning threads, verifier on 1 (shipped)", 2, True, 1, False),
)


def run(requests: int, gap_ms: float) -> dict[str, Any]:
    embedder = Embedder("sentence-transformers/all-MiniLM-L6-v2", runtime="onnx")
    shipped = embedder.onnx_encoder  # the encoder the package built (its exported file and tokenizer)
    assert shipped is not None
    models = {
        c.name: (
            OnnxEncoder(
                shipped.path,
                shipped.tokenizer,
                shipped.input_window,
                cores=c.embed_threads,
                spin=c.embed_spin,
            ),
            CrossEncoderScorer.load(threads=c.verify_threads, spin=c.verify_spin),
        )
        for c in CHOICES
    }
    timings: dict[str, dict[str, list[float]]] = {c.name: {"embed": [], "verify": []} for c in CHOICES}
    for encoder, scorer in models.values():  # warm-up, untimed
        for asked, stored in PAIRS:
            encoder.encode([asked])
            scorer.score([(asked, stored)])
    for i in range(requests):
        asked, stored = PAIRS[i % len(PAIRS)]
        for choice in CHOICES:
            encoder, scorer = models[choice.name]
            start = time.perf_counter()
            encoder.encode([asked])
            embedded = time.perf_counter()
            time.sleep(0.001)  # the vector search's round trip to Redis
            verify_start = time.perf_counter()
            scorer.score([(asked, stored)])
            done = time.perf_counter()
            timings[choice.name]["embed"].append((embedded - start) * 1000)
            timings[choice.name]["verify"].append((done - verify_start) * 1000)
            time.sleep(gap_ms / 1000)  # the rest of the request, and the next one's arrival
    rows = {}
    for choice in CHOICES:
        t = timings[choice.name]
        embed, verify = percentiles(t["embed"]), percentiles(t["verify"])
        both = percentiles([e + v for e, v in zip(t["embed"], t["verify"], strict=True)])
        rows[choice.name] = {
            "embed_threads": choice.embed_threads,
            "embed_spin": choice.embed_spin,
            "verify_threads": choice.verify_threads,
            "verify_spin": choice.verify_spin,
            "embed_p50_ms": embed["p50"],
            "embed_p90_ms": embed["p90"],
            "verify_p50_ms": verify["p50"],
            "verify_p90_ms": verify["p90"],
            "both_p50_ms": both["p50"],
        }
    return rows


#: How the classifier's pass is placed against the embedder's (``pipeline._embed_and_classify``).
PLACEMENTS = (
    "embed alone",
    "classify alone",
    "verify alone",
    "classify beside embed (shipped)",
    "classify after embed",
)


def overlap(requests: int, gap_ms: float) -> dict[str, Any]:
    """The three passes of a paraphrase hit at the shipped threads, each placement timed per request."""
    embedder = Embedder("sentence-transformers/all-MiniLM-L6-v2", runtime="onnx")
    encoder = embedder.onnx_encoder
    assert encoder is not None
    classifier = TextCacheabilityModel.load(threads=1)
    scorer = CrossEncoderScorer.load(threads=1)
    beside = ThreadPoolExecutor(1)  # the classifier's own thread, as in the pipeline

    def place(name: str, asked: str, stored: str) -> None:
        if name == "embed alone":
            encoder.encode([asked])
        elif name == "classify alone":
            classifier.probabilities([asked])
        elif name == "verify alone":
            scorer.score([(asked, stored)])
        elif name == "classify beside embed (shipped)":
            classifying = beside.submit(classifier.probabilities, [asked])
            encoder.encode([asked])
            classifying.result()
        else:
            encoder.encode([asked])
            classifier.probabilities([asked])

    for asked, stored in PAIRS:  # warm-up, untimed
        for name in PLACEMENTS:
            place(name, asked, stored)
    timings: dict[str, list[float]] = {name: [] for name in PLACEMENTS}
    for i in range(requests):
        asked, stored = PAIRS[i % len(PAIRS)]
        for name in PLACEMENTS:
            start = time.perf_counter()
            place(name, asked, stored)
            timings[name].append((time.perf_counter() - start) * 1000)
            time.sleep(gap_ms / 1000)
    beside.shutdown()
    return {name: percentiles(values) for name, values in timings.items()}


def render(results: dict[str, Any]) -> str:
    lines = [
        f"Command: `{results['command']}`  ",
        f"Run: {results['started']}, {results['seconds']:.0f} s; machine: {results['cpus']} CPUs "
        f"({results['cpu_model']}), load average at start {results['load_average'][0]:.2f}  ",
        f"{results['requests']} lone requests per choice, interleaved, {results['gap_ms']:.0f} ms apart "
        "(embed, 1 ms Redis round trip, verify one pair).",
        "",
        "| threads per call | embed p50 | embed p90 | verify p50 | verify p90 | embed + verify p50 |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name, row in results["choices"].items():
        lines.append(
            f"| {name} | {row['embed_p50_ms']:.2f} | {row['embed_p90_ms']:.2f} | {row['verify_p50_ms']:.2f} "
            f"| {row['verify_p90_ms']:.2f} | {row['both_p50_ms']:.2f} |"
        )
    if "overlap" in results:
        lines += [
            "",
            "The three model passes of a paraphrase hit at the shipped threads (embedder: 2 spinning "
            "threads; text cacheability classifier and verifier: 1 thread each), same spacing:",
            "",
            "| passes | p50 | p90 |",
            "|---|---:|---:|",
        ]
        for name, row in results["overlap"].items():
            lines.append(f"| {name} | {row['p50']:.2f} | {row['p90']:.2f} |")
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=f"python -m {MODULE}", description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=400, help="lone requests per thread choice")
    parser.add_argument("--gap-ms", type=float, default=20.0, help="idle time between requests")
    parser.add_argument("--quick", action="store_true", help="40 requests, for a smoke run")
    parser.add_argument("--output", type=Path, help="results file stem (default benchmarks/results/...)")
    args = parser.parse_args(argv)
    requests = 40 if args.quick else args.requests
    started = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime())
    load = list(os.getloadavg())
    log(f"{requests} requests per choice, {len(CHOICES)} choices")
    clock = time.perf_counter()
    choices = run(requests, args.gap_ms)
    placements = overlap(requests, args.gap_ms)
    results = {
        "command": command_line(MODULE, argv),
        "started": started,
        "seconds": time.perf_counter() - clock,
        "cpus": os.cpu_count(),
        "cpu_model": cpu_model(),
        "load_average": load,
        "requests": requests,
        "gap_ms": args.gap_ms,
        "choices": choices,
        "overlap": placements,
    }
    stem = args.output or RESULTS_DIR / ("model_threads.quick" if args.quick else "model_threads")
    publish(stem, results, render(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
