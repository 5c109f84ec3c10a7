"""The embedding step: the default model runs on ONNX Runtime with PyTorch's vectors."""

from __future__ import annotations

import numpy as np

from litellm_semcache.embedding import Embedder


def test_the_default_model_runs_on_onnx_runtime_with_pytorchs_vectors(embedder: Embedder) -> None:
    # A warning from the ONNX exporter once made the export fail wherever warnings are errors, and the
    # cache silently fell back to PyTorch (4x slower per query).
    assert embedder.runtime_in_use == "onnx"
    texts = ["How do I reset my password?", "Convert 100 Fahrenheit to Celsius"]
    onnx = np.stack([e.vector for e in embedder.encode_batch(texts)])  # type: ignore[misc]
    torch = embedder.load().encode(texts, normalize_embeddings=True, convert_to_numpy=True)
    assert float(np.abs(onnx - torch).max()) < 1e-4


def test_a_text_longer_than_the_window_gets_no_vector(embedder: Embedder) -> None:
    (long,) = embedder.encode_batch(["word " * (embedder.input_window + 5)])
    assert long.vector is None and long.tokens > embedder.input_window
