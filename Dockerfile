# syntax=docker/dockerfile:1
# kb-service in a container, configured only by KB_* environment variables.
#   docker build -t kb-service .
#   docker run -p 8000:8000 -v kb-data:/data kb-service                  # SQLite in /data
#   docker run -p 8000:8000 -e KB_DATABASE_URL=postgresql+psycopg://... kb-service  # PostgreSQL
# compose.yaml runs two replicas on PostgreSQL behind nginx.

# ---------------------------------------------------------------- build: venv + model
FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1 \
    KB_MODEL_CACHE=/opt/kb-model
# PyTorch's CPU-only wheels (a few hundred MB instead of the multi-GB CUDA build).
# Empty (--build-arg TORCH_INDEX=) takes torch from PyPI.
ARG TORCH_INDEX=https://download.pytorch.org/whl/cpu
ARG TORCH_VERSION=2.13.0
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
RUN pip install "torch==${TORCH_VERSION}" ${TORCH_INDEX:+--index-url "$TORCH_INDEX"}
WORKDIR /src
COPY pyproject.toml README.md ./
COPY kb_service kb_service
COPY indexer indexer
RUN pip install . && kb model build

# ---------------------------------------------------------------- runtime
FROM python:3.11-slim
ENV PYTHONUNBUFFERED=1 \
    PATH=/opt/venv/bin:$PATH \
    HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1 \
    KB_DATA_DIR=/data \
    KB_MODEL_CACHE=/opt/kb-model \
    KB_HOST=0.0.0.0 \
    KB_PORT=8000 \
    KB_WIDGETS_DIR=/app/widgets \
    KB_IMPORT_DIR=/app/content
COPY --from=build /opt/venv /opt/venv
COPY --from=build /opt/kb-model /opt/kb-model
WORKDIR /app
COPY content content
# The channel tools, served at /widgets (static files, not part of the Python package).
COPY widgets widgets
RUN useradd --system --uid 10001 --home-dir /app kb && mkdir -p /data && chown kb /data
USER kb
VOLUME ["/data"]
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=5s --start-period=120s --retries=3 \
    CMD python -c "import os,urllib.request;urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('KB_PORT','8000'), timeout=4)"
# KB_IMPORT_DIR (default: the demo content) is imported before serving; the import is
# idempotent (unchanged files create no version). Set it empty to serve only what the database has.
CMD ["sh", "-c", "if [ -n \"$KB_IMPORT_DIR\" ]; then kb import \"$KB_IMPORT_DIR\"; fi; exec kb serve"]
