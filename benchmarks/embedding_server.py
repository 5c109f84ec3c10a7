"""An OpenAI-compatible embeddings endpoint serving all-MiniLM-L6-v2, for LiteLLM's `redis-semantic` cache.

LiteLLM's built-in semantic cache embeds prompts by calling an embedding *model group* over HTTP. To
compare it with litellm-semcache on the same model, this server wraps the same ``Embedder`` the
plugin uses. Encoding runs in one worker thread (the event loop stays responsive); requests that
arrive while it is busy are coalesced into the next batch, as a production embedding server would.

Run (from the repository root): ``python -m benchmarks.embedding_server --port 8012``; it prints
``READY <port>`` once it listens.

Endpoints:
    POST /v1/embeddings (and /embeddings)  OpenAI request/response; ``encoding_format`` float or base64
    GET  /_stats   -> {"requests", "texts", "batches", "encode_ms", "handle_ms"} (totals since reset)
    POST /_reset   -> zero the counters
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import time
from collections import deque
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
from aiohttp import web

from harness.serving import serve
from litellm_semcache.embedding import Embedder

MODULE = "benchmarks.embedding_server"
DEFAULT_MODEL = "sentence-transformers/all-MiniLM-L6-v2"


class EmbeddingService:
    """The model, its worker thread, the batching queue and the counters."""

    def __init__(self, model: str, max_batch: int, runtime: str = "torch") -> None:
        self.embedder = Embedder(model, max_batch_size=max_batch, runtime=runtime)
        self.max_batch = max_batch
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="embed")
        self.pending: deque[tuple[list[str], asyncio.Future[list[np.ndarray]]]] = deque()
        self.wakeup = asyncio.Event()
        self.stats: dict[str, float] = {}
        self.reset()

    def reset(self) -> None:
        self.stats = {"requests": 0, "texts": 0, "batches": 0, "encode_ms": 0.0, "handle_ms": 0.0}

    def encode(self, texts: list[str]) -> list[np.ndarray]:
        """Blocking: vectors for texts; over-long texts are truncated (as OpenAI-style servers do)."""
        results = self.embedder.encode_batch(texts)
        vectors = []
        for text, result in zip(texts, results, strict=True):
            if result.vector is None:  # longer than the model reads: encode the head it does read
                model = self.embedder.load()
                vector = model.encode([text], normalize_embeddings=True, convert_to_numpy=True)[0]
                vectors.append(vector.astype(np.float32))
            else:
                vectors.append(result.vector)
        return vectors

    async def run_batches(self) -> None:
        """Coalesce queued requests (up to ``max_batch`` texts) into one encode call each."""
        loop = asyncio.get_running_loop()
        while True:
            if not self.pending:
                self.wakeup.clear()
                await self.wakeup.wait()
                continue
            jobs = [self.pending.popleft()]
            size = len(jobs[0][0])
            while self.pending and size + len(self.pending[0][0]) <= self.max_batch:
                jobs.append(self.pending.popleft())
                size += len(jobs[-1][0])
            texts = [text for job_texts, _ in jobs for text in job_texts]
            started = time.perf_counter()
            try:
                vectors = await loop.run_in_executor(self.executor, self.encode, texts)
            except Exception as exc:
                for _, future in jobs:
                    if not future.done():
                        future.set_exception(exc)
                continue
            self.stats["encode_ms"] += (time.perf_counter() - started) * 1000
            self.stats["batches"] += 1
            offset = 0
            for job_texts, future in jobs:
                if not future.done():
                    future.set_result(vectors[offset : offset + len(job_texts)])
                offset += len(job_texts)

    async def embed(self, texts: list[str]) -> list[np.ndarray]:
        future: asyncio.Future[list[np.ndarray]] = asyncio.get_running_loop().create_future()
        self.pending.append((texts, future))
        self.wakeup.set()
        return await future


def _texts(body: dict[str, Any]) -> list[str]:
    """The request's ``input`` as a list of strings (token-id inputs are not supported)."""
    value = body.get("input")
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and value and all(isinstance(item, str) for item in value):
        return value
    raise web.HTTPBadRequest(text='{"error": {"message": "input must be a string or a list of strings"}}')


def _encode_vector(vector: np.ndarray, encoding_format: str | None) -> Any:
    if encoding_format == "base64":
        return base64.b64encode(np.asarray(vector, dtype="<f4").tobytes()).decode("ascii")
    return [float(x) for x in vector]


async def embeddings(request: web.Request) -> web.Response:
    service: EmbeddingService = request.app["service"]
    started = time.perf_counter()
    body = await request.json()
    texts = _texts(body)
    vectors = await service.embed(texts)
    tokens = sum(len(text.split()) for text in texts)
    data = [
        {"object": "embedding", "index": i, "embedding": _encode_vector(v, body.get("encoding_format"))}
        for i, v in enumerate(vectors)
    ]
    response = web.json_response(
        {
            "object": "list",
            "data": data,
            "model": body.get("model", DEFAULT_MODEL),
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
        }
    )
    service.stats["requests"] += 1
    service.stats["texts"] += len(texts)
    service.stats["handle_ms"] += (time.perf_counter() - started) * 1000
    return response


async def _batching(app: web.Application) -> AsyncIterator[None]:
    """The batching loop runs while the app serves."""
    batcher = asyncio.create_task(app["service"].run_batches())
    yield
    batcher.cancel()


async def stats(request: web.Request) -> web.Response:
    return web.json_response(request.app["service"].stats)


async def reset(request: web.Request) -> web.Response:
    request.app["service"].reset()
    return web.json_response({"ok": True})


def make_app(service: EmbeddingService) -> web.Application:
    app = web.Application(client_max_size=16 * 1024 * 1024)
    app["service"] = service
    app.cleanup_ctx.append(_batching)
    for path in ("/v1/embeddings", "/embeddings"):
        app.router.add_post(path, embeddings)
    app.router.add_get("/_stats", stats)
    app.router.add_post("/_reset", reset)
    return app


def main() -> None:
    parser = argparse.ArgumentParser(prog=f"python -m {MODULE}", description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--model", default=DEFAULT_MODEL)
    parser.add_argument("--max-batch", type=int, default=32)
    parser.add_argument(
        "--runtime",
        choices=("torch", "onnx"),
        default="torch",
        help="torch: plain sentence-transformers, as a typical embeddings endpoint runs it",
    )
    args = parser.parse_args()

    service = EmbeddingService(args.model, args.max_batch, args.runtime)
    service.encode(["warm-up"])  # load the model before accepting requests
    serve(make_app(service), args.host, args.port)


if __name__ == "__main__":
    main()
