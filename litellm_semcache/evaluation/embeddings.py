"""Vectors for many texts at once, as the live cache would compute them."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..embedding import Embedder

__all__ = ["embed_all"]


def embed_all(embedder: Embedder, texts: Sequence[str], progress: bool = True) -> np.ndarray[Any, Any]:
    """Vectors for many texts, in batches, with a progress bar (zero rows for texts too long to embed).

    Texts are batched by length, so short ones are not padded to the longest of a random batch.
    """
    from tqdm import tqdm

    vectors = np.zeros((len(texts), embedder.dimensions), dtype=np.float32)
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    batch = 128
    for start in tqdm(
        range(0, len(order), batch), desc="embedding", unit="batch", disable=not progress, file=sys.stderr
    ):
        chunk = order[start : start + batch]
        for index, embedding in zip(chunk, embedder.encode_batch([texts[i] for i in chunk]), strict=True):
            if embedding.vector is not None:
                vectors[index] = embedding.vector
    return vectors
