"""The quality benchmark's Markdown report and its precision/recall figure."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from litellm_semcache.ops.estimates import wilson_interval

__all__ = ["TARGETS", "best_at_recall", "markdown", "plot_curves", "targets"]

#: The issue's targets on the test splits, at the shipped defaults.
TARGETS = (
    ("Quora pairs", "precision >= 88% at recall >= 60%"),
    ("Banking77", "hit rate >= 75% at precision >= 98%"),
    ("CLINC150 (+oos)", "hit rate >= 40% at precision >= 99%, out-of-scope hits <= 0.5%"),
    ("hard cases", "<= 2% false matches with >= 65% of true paraphrases matched"),
)


def cell(row: dict[str, Any], kind: str) -> str:
    """An intent set: hit rate / precision [/ oos]; a pair set: recall / precision / false matches."""
    if kind == "pairs":
        return f"{row['recall']:.1%} / {row['precision']:.2%} / {row['out_of_scope_hit_rate']:.1%}"
    text = f"{row['hit_rate']:.1%} / {row['precision']:.2%}"
    return text + (f" / {row['out_of_scope_hit_rate']:.1%}" if row["out_of_scope_hit_rate"] else "")


def _precision(row: dict[str, Any]) -> str:
    """The precision with its Wilson 95% interval: how far the sample lets one trust its decimals."""
    low, high = wilson_interval(int(row["correct"]), int(row["hits"]))
    return f"{row['precision']:.2%} ({low:.1%}–{high:.1%})"


def _kind(name: str) -> str:
    return "pairs" if name in ("Quora pairs", "hard cases") else "intents"


def best_at_recall(curve: list[dict[str, Any]], recall: float) -> dict[str, Any] | None:
    passing = [r for r in curve if r["recall"] >= recall]
    return max(passing, key=lambda r: r["precision"]) if passing else None


def targets(report: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    """(set, target, measured at the shipped defaults, met?) on the test splits."""
    new = next(name for name in report["rows"]["test"] if name.startswith("new default"))
    rows = report["rows"]["test"][new]
    out = []
    quora = rows["Quora pairs"]
    best = best_at_recall(report["curves"]["test"]["Quora pairs"], 0.6)
    met = quora["precision"] >= 0.88 and quora["recall"] >= 0.6
    extra = f"; best on the score curve at recall >= 60%: {best['precision']:.2%}" if best else ""
    out.append(
        (
            "Quora pairs",
            TARGETS[0][1],
            f"{_precision(quora)} at {quora['recall']:.1%}{extra}",
            "met" if met else "missed",
        )
    )
    bank = rows["Banking77"]
    out.append(
        (
            "Banking77",
            TARGETS[1][1],
            f"{bank['hit_rate']:.1%} at {_precision(bank)}",
            "met" if bank["hit_rate"] >= 0.75 and bank["precision"] >= 0.98 else "missed",
        )
    )
    clinc = rows["CLINC150 (+oos)"]
    ok = clinc["hit_rate"] >= 0.40 and clinc["precision"] >= 0.99 and clinc["out_of_scope_hit_rate"] <= 0.005
    out.append(
        (
            "CLINC150 (+oos)",
            TARGETS[2][1],
            f"{clinc['hit_rate']:.1%} at {_precision(clinc)}, oos {clinc['out_of_scope_hit_rate']:.1%}",
            "met" if ok else "missed",
        )
    )
    hard = rows["hard cases"]
    ok = hard["out_of_scope_hit_rate"] <= 0.02 and hard["recall"] >= 0.65
    out.append(
        (
            "hard cases",
            TARGETS[3][1],
            f"{hard['out_of_scope_hit_rate']:.1%} / {hard['recall']:.1%}",
            "met" if ok else "missed",
        )
    )
    return out


def _table(report: dict[str, Any], split: str) -> list[str]:
    names = report["sets"][split]
    lines = [
        f"### {split.capitalize()}",
        "",
        "| pipeline | " + " | ".join(names) + " |",
        "|---|" + "---|" * len(names),
    ]
    for pipeline, per in report["rows"][split].items():
        lines.append(f"| {pipeline} | " + " | ".join(cell(per[n], _kind(n)) for n in names) + " |")
    return lines + [""]


def markdown(report: dict[str, Any]) -> str:
    """The whole report."""
    gates = report["gates"]
    lines = [
        f"Command: `{report['command']}`",
        "",
        f"Embedding model {report['model']}, verifier {report['verifier']}, top_k {report['top_k']}; "
        f"new default at target precision {report['target_precision']}: cosine gate {gates['gate']}, "
        f"verifier judges the {gates['top_n']} nearest, score >= {gates['score_threshold']}; "
        f"contrast checks kept: {', '.join(report['contrast_checks']) or 'none'}.",
        "",
    ]
    for split in ("validation", "test"):
        lines += _table(report, split)
    lines += [
        "Cells: intent sets `hit rate / precision [/ out-of-scope hit rate]`; pair sets `recall (true "
        "duplicates matched) / precision / false matches (of different-question pairs)`.",
        "",
        "### Targets (test, shipped defaults)",
        "",
        "| set | target | measured | |",
        "|---|---|---|---|",
    ]
    lines += [f"| {s} | {t} | {m} | {ok} |" for s, t, m, ok in targets(report)]
    lines += [
        "",
        "Precision in parentheses: its Wilson 95% interval from the hits counted (how many decimals the "
        "sample supports).",
        "",
        "### Calibration profile (validation)",
        "",
        "| target precision | gate | top n | score | measured |",
        "|---:|---:|---:|---:|---|",
    ]
    for row in report["profile"]["rows"]:
        measured = ", ".join(f"{k} {v}" for k, v in row["measured"].items())
        gate = f"{row['gate']} | {row['top_n']} | {row['score_threshold']}"
        lines.append(f"| {row['target_precision']} | {gate} | {measured} |")
    lines += ["", "### How the choices were made (validation only)", ""]
    lines += [f"- {note}" for note in report["selection"]]
    if "hard_categories" in report:
        names = sorted(next(iter(report["hard_categories"].values())))
        lines += [
            "",
            "### Hard cases (test) per category, matched / pairs",
            "",
            "| pipeline | " + " | ".join(names) + " |",
            "|---|" + "---:|" * len(names),
        ]
        for pipeline, counts in report["hard_categories"].items():
            lines.append(f"| {pipeline} | " + " | ".join(counts[n] for n in names) + " |")
    lines += [
        "",
        "### Exact repeats: old ids (case, spacing, trailing punctuation folded) vs the text as sent",
        "",
        "| set | test queries | exact before | exact now |",
        "|---|---:|---:|---:|",
    ]
    for name, loss in report["exact_hit_loss"].items():
        lines.append(f"| {name} | {loss['queries']} | {loss['exact_before']} | {loss['exact_now']} |")
    return "\n".join(lines) + "\n"


def plot_curves(report: dict[str, Any], path: Path) -> None:
    """Precision against hit rate (recall for pairs) along the verifier score at the default gates, one
    panel per set (test solid, validation dashed), with the rules-only pipelines as points."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = report["sets"]["test"]
    figure, axes = plt.subplots(1, len(names), figsize=(4.2 * len(names), 4.2))
    markers = ("o", "s", "^", "D")
    for axis, name in zip(axes, names, strict=True):
        x = "recall" if _kind(name) == "pairs" else "hit_rate"
        for split, style in (("test", "-"), ("validation", "--")):
            curve = report["curves"][split][name]
            axis.plot(
                [r[x] for r in curve],
                [r["precision"] for r in curve],
                linestyle=style,
                color="tab:blue",
                label=f"learned verifier ({split})",
            )
        for (pipeline, per), marker in zip(report["rows"]["test"].items(), markers, strict=False):
            row = per[name]
            axis.scatter([row[x]], [row["precision"]], marker=marker, s=36, zorder=3, label=pipeline)
        axis.set_title(name)
        axis.set_xlabel("recall" if x == "recall" else "hit rate")
        axis.set_ylabel("precision")
        axis.set_xlim(0, 1)
        axis.set_ylim(0.5, 1.005)
        axis.grid(alpha=0.3)
    axes[0].legend(fontsize=6, loc="lower left")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
