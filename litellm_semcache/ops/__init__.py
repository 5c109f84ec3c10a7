"""Running the cache: metrics, admin operations, the embedded Redis Stack, fail-open machinery."""
