"""Benchmarks of litellm-semcache: hit quality, latency next to LiteLLM's own caches, the lookup's steps,
and the vector store at scale.

Run each from the repository root as ``python -m benchmarks.<name>`` (``quality``, ``latency``,
``profile_hit_path``, ``scale``); ``--help`` lists its options, including a small smoke run and where to
write results. ``stack``, ``questions`` and ``embedding_server`` are what ``latency`` runs on; the services
and measurement helpers shared with the tests are in ``harness``.
"""
