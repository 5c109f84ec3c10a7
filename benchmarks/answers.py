"""How well the answer comparison tells "the same answer" from a different one, and its threshold.

Data: ``benchmarks/data/answer_pairs.csv``, 304 hand-written pairs from 76 groups. Each group is two
similar questions of one domain (support, cooking, conversions, geography, code, science, travel, ...),
either a minimal edit that flips the answer ("soft" / "hard" boiled egg, °F to °C / °C to °F, carry-on /
checked luggage) or a related question of the same domain, each answered twice in different words, as an
LLM answers one question twice. Per group: the two answers to each question are the same answer
(``same_question``, same = 1), and two cross pairs are answers to different questions (``minimal_question``
or ``related_question``, same = 0). Groups are split in half (seed 14) into dev and test, so no question
is on both sides.

The threshold is the answer-embedding cosine that makes the fewest errors (false agree + false disagree)
on dev, the stricter on a tie (a false agree keeps a wrong entry, a false disagree only costs a provider
call); the errors quoted are the test split's. ``verification/answers.py`` ships them as ``CALIBRATION``.

    python -m benchmarks.answers          # writes benchmarks/results/answers.{json,md}
"""

from __future__ import annotations

import argparse
import csv
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from benchmarks.common import BENCH_DIR, RESULTS_DIR, command_line, log, write_results
from litellm_semcache.embedding import Embedder
from litellm_semcache.verification.answers import CALIBRATION, AnswerComparator

MODULE = "benchmarks.answers"
DATA = BENCH_DIR / "data" / "answer_pairs.csv"
GRID = [round(0.50 + 0.005 * i, 3) for i in range(91)]


@dataclass(frozen=True)
class Pair:
    split: str
    kind: str
    cached: str
    fresh: str
    same: bool
    similarity: float = 0.0


def read_pairs(path: Path) -> list[Pair]:
    """The labelled answer pairs of a CSV (``split,kind,answer_a,answer_b,same``)."""
    with open(path, encoding="utf-8", newline="") as handle:
        return [
            Pair(row["split"], row["kind"], row["answer_a"], row["answer_b"], row["same"] == "1")
            for row in csv.DictReader(handle)
        ]


def errors(
    comparator: AnswerComparator, pairs: Sequence[Pair], threshold: float, rules: bool = True
) -> dict[str, Any]:
    """False-agree and false-disagree rates of the comparison at a threshold."""
    comparator.threshold = threshold
    agree = [
        comparator.decide(p.cached, p.fresh, p.similarity).agree if rules else p.similarity >= threshold
        for p in pairs
    ]
    different = [a for a, p in zip(agree, pairs, strict=True) if not p.same]
    same = [a for a, p in zip(agree, pairs, strict=True) if p.same]
    false_agree = sum(different) / len(different) if different else 0.0
    false_disagree = (len(same) - sum(same)) / len(same) if same else 0.0
    by_kind = {
        kind: round(
            sum(a != p.same for a, p in zip(agree, pairs, strict=True) if p.kind == kind)
            / sum(p.kind == kind for p in pairs),
            4,
        )
        for kind in sorted({p.kind for p in pairs})
    }
    return {
        "threshold": threshold,
        "pairs": len(pairs),
        "false_agree": round(false_agree, 4),
        "false_disagree": round(false_disagree, 4),
        "error_rate": round(sum(a != p.same for a, p in zip(agree, pairs, strict=True)) / len(pairs), 4),
        "error_by_kind": by_kind,
    }


def choose(comparator: AnswerComparator, dev: Sequence[Pair], rules: bool = True) -> float:
    """The threshold with the fewest dev errors (false agree + false disagree), the stricter on a tie."""
    best: tuple[float, float] | None = None
    for threshold in GRID:
        row = errors(comparator, dev, threshold, rules)
        cost = row["false_agree"] + row["false_disagree"]
        if best is None or cost <= best[0] + 1e-12:
            best = (cost, threshold)
    assert best is not None
    return best[1]


def markdown(report: dict[str, Any]) -> str:
    lines = [
        "# Answer comparison: the same answer, or another?",
        "",
        f"`{report['command']}` on `{report['data']}` ({report['pairs']['dev']} dev / "
        f"{report['pairs']['test']} test pairs). Threshold chosen on dev (fewest false agrees + false "
        "disagrees, the stricter on a tie); errors on test.",
        "",
        "| comparison | threshold | split | false agree | false disagree | errors | minimal-edit pairs | "
        "related pairs | same-question pairs |",
        "|---|---:|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, block in report["comparisons"].items():
        for split in ("dev", "test"):
            row = block[split]
            kinds = row["error_by_kind"]
            lines.append(
                f"| {name} | {row['threshold']:.3f} | {split} | {row['false_agree']:.1%} | "
                f"{row['false_disagree']:.1%} | {row['error_rate']:.1%} | "
                f"{kinds.get('minimal_question', 0):.1%} | {kinds.get('related_question', 0):.1%} | "
                f"{kinds.get('same_question', 0):.1%} |"
            )
    lines += [
        "",
        "False agree: answers to different questions called the same (a wrong hit missed); false disagree:",
        "two answers to one question called different (a right hit counted as wrong). Shipped: "
        f"`{report['shipped']}`.",
        "",
    ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=f"python -m {MODULE}", description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA, help="labelled answer pairs (CSV)")
    parser.add_argument("--output", type=Path, default=RESULTS_DIR / "answers", help="results stem")
    args = parser.parse_args(argv)
    pairs = read_pairs(args.data)
    log(f"{len(pairs)} pairs from {args.data}")
    embedder = Embedder("sentence-transformers/all-MiniLM-L6-v2")
    comparator = AnswerComparator(embedder)
    pairs = [
        Pair(p.split, p.kind, p.cached, p.fresh, p.same, comparator.similarity(p.cached, p.fresh))
        for p in pairs
    ]
    dev = [p for p in pairs if p.split == "dev"]
    test = [p for p in pairs if p.split == "test"]
    comparisons: dict[str, dict[str, Any]] = {}
    for name, rules in (("embedding + numbers + yes/no (shipped)", True), ("embedding only", False)):
        threshold = choose(comparator, dev, rules)
        comparisons[name] = {
            "dev": errors(comparator, dev, threshold, rules),
            "test": errors(comparator, test, threshold, rules),
        }
    shipped = comparisons["embedding + numbers + yes/no (shipped)"]
    report = {
        "command": command_line(MODULE, argv),
        "data": "benchmarks/data/answer_pairs.csv",
        "pairs": {"dev": len(dev), "test": len(test)},
        "comparisons": comparisons,
        "calibration": {
            "threshold": shipped["test"]["threshold"],
            "false_agree": shipped["test"]["false_agree"],
            "false_disagree": shipped["test"]["false_disagree"],
            "pairs": len(test),
        },
        "shipped": repr(CALIBRATION),
    }
    json_path, md_path = write_results(args.output, report, markdown(report))
    log(f"wrote {json_path} and {md_path}")
    print(markdown(report))
    embedder.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
