"""Section vectors stored once in the database (``SectionEmbedding``), shared by replicas.

``DatabaseVectorStore`` is the ``indexer.build.VectorStore`` the index build asks before it
embeds anything: a replica that starts (or rebuilds) on a database another replica already
indexed embeds nothing. Rows are only ever inserted; a passage embedded by two replicas at the
same moment is stored once (the second insert does nothing).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from indexer.build import StoredVectors
from kb_service.models import SectionEmbedding, utcnow

CHUNK = 500  # hashes per SELECT ... IN (...)


class DatabaseVectorStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def load(self, model: str, hashes: Sequence[str]) -> Mapping[str, StoredVectors]:
        found: dict[str, StoredVectors] = {}
        with Session(self.engine) as session:
            for start in range(0, len(hashes), CHUNK):
                rows = session.exec(
                    select(SectionEmbedding).where(
                        col(SectionEmbedding.model) == model,
                        col(SectionEmbedding.passage_hash).in_(hashes[start : start + CHUNK]),
                    )
                )
                for row in rows:
                    vector = np.frombuffer(row.vector, dtype=np.float32)
                    view = None if row.view is None else np.frombuffer(row.view, dtype=np.float32)
                    if vector.shape[0] == row.dimension:
                        found[row.passage_hash] = (vector, view)
        return found

    def save(self, model: str, vectors: Mapping[str, StoredVectors]) -> None:
        if not vectors:
            return
        now = utcnow()
        rows = [
            {
                "model": model,
                "passage_hash": digest,
                "dimension": int(vector.shape[0]),
                "vector": np.ascontiguousarray(vector, dtype=np.float32).tobytes(),
                "view": None
                if view is None
                else np.ascontiguousarray(view, dtype=np.float32).tobytes(),
                "created_at": now,
            }
            for digest, (vector, view) in vectors.items()
        ]
        insert = pg_insert if self.engine.dialect.name == "postgresql" else sqlite_insert
        with Session(self.engine) as session:
            for start in range(0, len(rows), CHUNK):
                statement = insert(SectionEmbedding).values(rows[start : start + CHUNK])
                session.exec(statement.on_conflict_do_nothing())
            session.commit()
