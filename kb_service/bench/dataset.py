"""An evaluation dataset in the allegro_faq layout: articles/, queries.jsonl, qrels.tsv,
optional splits.tsv."""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path

from kb_service.errors import ValidationFailed


@dataclass(frozen=True)
class Query:
    id: str
    text: str
    locale: str | None


@dataclass(frozen=True)
class Dataset:
    root: Path
    queries: list[Query]
    qrels: dict[str, dict[str, int]]  # query id -> article id -> relevance grade
    splits: dict[str, str]


def load_dataset(root: Path, split: str | None = None) -> Dataset:
    for name in ("queries.jsonl", "qrels.tsv"):
        if not (root / name).is_file():
            raise ValidationFailed(f"{root} has no {name}; see `kb bench retrieval --help`.")
    qrels = _read_qrels(root / "qrels.tsv")
    splits = _read_tsv_pairs(root / "splits.tsv") if (root / "splits.tsv").is_file() else {}
    queries = [q for q in _read_queries(root / "queries.jsonl") if q.id in qrels]
    if split is not None:
        if split not in set(splits.values()):
            known = ", ".join(sorted(set(splits.values()))) or "none"
            raise ValidationFailed(f"No split {split!r} in {root}/splits.tsv (known: {known}).")
        queries = [q for q in queries if splits.get(q.id) == split]
    return Dataset(root, queries, qrels, splits)


def _read_qrels(path: Path) -> dict[str, dict[str, int]]:
    qrels: dict[str, dict[str, int]] = {}
    with open(path, encoding="utf-8") as handle:
        for row in csv.reader(handle, delimiter="\t"):
            if len(row) < 2 or row[0].startswith("#"):
                continue
            grade = int(row[2]) if len(row) > 2 and row[2].strip().isdigit() else 1
            if grade > 0:
                qrels.setdefault(row[0], {})[row[1]] = grade
    return qrels


def _read_tsv_pairs(path: Path) -> dict[str, str]:
    with open(path, encoding="utf-8") as handle:
        return {row[0]: row[1] for row in csv.reader(handle, delimiter="\t") if len(row) > 1}


def _read_queries(path: Path) -> list[Query]:
    queries = []
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                data = json.loads(line)
                queries.append(Query(str(data["id"]), data["text"], data.get("locale")))
    return queries
