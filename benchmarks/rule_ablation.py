"""Which rule stages still add precision now that the learned verifier judges every candidate (validation).

For each configuration of the rule stages (the shipped one, each guard off, all off) the calibration
profile is searched again on the validation sets exactly as ``benchmarks.quality`` does, and the sets are
read at the gates it gives for one target precision. Validation only (Banking77 train held-out, CLINC150
val + oos_val, Quora ``dev`` held-out, the hard cases' dev split): never the test splits.

    python -m benchmarks.rule_ablation    # target 0.98; writes benchmarks/results/rule_ablation.*
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

from benchmarks.common import (
    RESULTS_DIR,
    add_data_dir_option,
    command_line,
    log,
    resolve_data_dir,
    write_results,
)
from benchmarks.quality import (
    PROFILE_SETS,
    SCORES,
    Vectors,
    at,
    build_cases,
    grid,
    scored,
    verifier_scores,
)
from benchmarks.quality_report import best_at_recall
from litellm_semcache.embedding import Embedder
from litellm_semcache.evaluation import best_gates, sweep
from litellm_semcache.settings import SemCacheSettings
from litellm_semcache.verification import Verifier
from litellm_semcache.verification.learned import LearnedVerifier

MODULE = "benchmarks.rule_ablation"

#: name -> settings overrides of the shipped defaults
CONFIGURATIONS: tuple[tuple[str, dict[str, Any]], ...] = (
    ("shipped rules", {}),
    ("no contrast guard", {"contrast_guard": False}),
    ("no payload guard", {"payload_guard": False}),
    ("no instruction guard", {"instruction_guard": False}),
    ("no rule stages", {"contrast_guard": False, "payload_guard": False, "instruction_guard": False}),
)


def measure(data: Any, target: float) -> dict[str, Any]:
    defaults = SemCacheSettings(redis_url="redis://unused")
    learned = LearnedVerifier.load()
    cases = build_cases(data, Vectors(Embedder(defaults.embedding_model)), defaults.top_k, None, test=False)[
        "validation"
    ]
    log("scoring candidates with the learned verifier")
    raw = {n: verifier_scores(c, learned) for n, c in cases.items()}
    out: dict[str, Any] = {}
    for name, overrides in CONFIGURATIONS:
        rules = Verifier.from_settings(defaults.with_overrides(**overrides))
        data_by_set = {n: scored(c, rules, raw[n]) for n, c in cases.items()}
        found = best_gates({n: grid(data_by_set[n]) for n in PROFILE_SETS}, target)
        if found is None:
            out[name] = None
            continue
        gates, _ = found
        rows = {n: at(d, gates) for n, d in data_by_set.items()}
        quora = data_by_set["Quora pairs"]
        curve = [asdict(r) for r in sweep(quora, [gates.gate], [gates.top_n], SCORES)]
        best = best_at_recall(curve, 0.6)
        out[name] = {
            "gates": gates.model_dump(),
            "rows": {n: asdict(r) for n, r in rows.items()},
            "quora_precision_at_recall_60": best["precision"] if best else None,
            "quora_max_recall": max(r["recall"] for r in curve),
        }
        log(f"{name}: done")
    return out


def markdown(results: dict[str, Any], target: float) -> str:
    lines = [
        f"# Rule stages with the learned verifier on (validation, target {target})",
        "",
        "| rules | gate / top n / score | Banking77 hits / precision | CLINC150 hits / precision / oos | "
        "Quora recall / precision / false matches | Quora P@R60 (max recall) | hard recall / false matches |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, r in results.items():
        if r is None:
            lines.append(f"| {name} | target not reached | | | | | |")
            continue
        g, rows = r["gates"], r["rows"]
        b, c, q, h = (rows[n] for n in ("Banking77", "CLINC150 (+oos)", "Quora pairs", "hard cases"))
        p60 = r["quora_precision_at_recall_60"]
        lines.append(
            f"| {name} | {g['gate']} / {g['top_n']} / {g['score_threshold']} "
            f"| {b['hit_rate']:.1%} / {b['precision']:.2%} "
            f"| {c['hit_rate']:.1%} / {c['precision']:.2%} / {c['out_of_scope_hit_rate']:.1%} "
            f"| {q['recall']:.1%} / {q['precision']:.2%} / {q['false_match_rate']:.1%} "
            f"| {'-' if p60 is None else f'{p60:.2%}'} ({r['quora_max_recall']:.1%}) "
            f"| {h['recall']:.1%} / {h['false_match_rate']:.1%} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog=f"python -m {MODULE}", description=__doc__.splitlines()[0])
    parser.add_argument("--target", type=float, default=0.98)
    add_data_dir_option(parser)
    args = parser.parse_args(argv)
    data = resolve_data_dir(parser, args.data_dir)
    results = measure(data, args.target)
    text = markdown(results, args.target)
    print(text)
    write_results(
        RESULTS_DIR / "rule_ablation",
        {"command": command_line(MODULE, argv), "target": args.target, "configurations": results},
        text,
    )


if __name__ == "__main__":
    main()
