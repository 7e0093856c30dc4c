# kb-service on the embedded default (SQLite + FAISS files under /data).
# Build: docker build -t kb-service .   Run: docker run -p 8000:8000 -v kb-data:/data kb-service
FROM python:3.11-slim

ENV PIP_NO_CACHE_DIR=1 \
    PYTHONUNBUFFERED=1 \
    HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1 \
    KB_DATA_DIR=/data \
    KB_MODEL_CACHE=/opt/kb-model \
    KB_HOST=0.0.0.0 \
    KB_WIDGETS_DIR=/app/widgets \
    KB_PORT=8000

WORKDIR /app
# torch first, so nothing else picks a build. Pass --build-arg TORCH_INDEX=<PyTorch's CPU wheel
# index> to get the small CPU-only build instead of the default (CUDA) one.
ARG TORCH_INDEX=""
RUN pip install torch==2.13.0 ${TORCH_INDEX:+--index-url "$TORCH_INDEX"}
COPY pyproject.toml README.md ./
COPY kb_service kb_service
COPY indexer indexer
COPY content content
# The channel tools, served at /widgets (static files, not part of the Python package).
COPY widgets widgets
RUN pip install . && kb model build

RUN useradd --system --home /app kb && mkdir -p /data && chown kb /data
USER kb
VOLUME ["/data"]
EXPOSE 8000
HEALTHCHECK CMD python -c "import urllib.request;urllib.request.urlopen('http://127.0.0.1:8000/healthz')"
CMD ["sh", "-c", "kb import content && exec kb serve"]
