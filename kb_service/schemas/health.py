"""Shapes of ``/healthz``."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class Health(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "status": "ok",
                    "kb_revision": 52,
                    "index_revision": 52,
                    "sections": 140,
                    "model": "multilingual-e5-small",
                    "replica": "kb-1:8000",
                }
            ]
        }
    )
    status: str
    kb_revision: int
    index_revision: int | None
    sections: int
    model: str
    replica: str = Field(description="Which replica answered (KB_REPLICA_NAME, or host:port).")


class Ready(BaseModel):
    """``/readyz``: the service can write (any failure is a 503 problem+json instead)."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"status": "ready", "database": "ok", "data_dir": "ok"}]}
    )
    status: str
    database: str
    data_dir: str
