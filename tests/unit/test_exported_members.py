"""The public API: ``litellm_semcache.__all__`` is sorted, every name in it resolves, and every public
class or function of the package's top level is in it."""

from __future__ import annotations

import litellm_semcache


def test_all_is_sorted_and_every_name_resolves() -> None:
    exported = litellm_semcache.__all__
    assert exported == sorted(exported)
    for name in exported:
        if name != "semantic_cache":  # reading it installs the cache into LiteLLM
            assert getattr(litellm_semcache, name) is not None, name


def test_every_public_name_is_exported() -> None:
    public = {
        name
        for name, value in vars(litellm_semcache).items()
        if not name.startswith("_")
        and callable(value)
        and getattr(value, "__module__", "").startswith("litellm_semcache")
    }
    assert public, "the package exports classes and functions"
    assert public <= set(litellm_semcache.__all__), public - set(litellm_semcache.__all__)
