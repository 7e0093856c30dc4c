"""Logging set-up in one place, for the service and the command line."""

from __future__ import annotations

import logging

# Libraries that log every index build or model load at INFO/DEBUG: keep them quiet.
_CHATTY = ("bm25s", "sentence_transformers", "transformers", "httpx", "faiss")


def configure_logging(level: str | int = "INFO") -> None:
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for name in _CHATTY:
        logging.getLogger(name).setLevel(logging.WARNING)
