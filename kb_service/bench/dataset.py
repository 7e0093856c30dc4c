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
    qrels: dict[str, dict[str, int]] = {}
    with open(root / "qrels.tsv", encoding="utf-8") as handle:
        for row in csv.reader(handle, delimiter="\t"):
            if len(row) >= 2 and not row[0].startswith("#"):
                grade = int(row[2]) if len(row) > 2 and row[2].strip().isdigit() else 1
                if grade > 0:
                    qrels.setdefault(row[0], {})[row[1]] = grade
    splits: dict[str, str] = {}
    if (root / "splits.tsv").is_file():
        with open(root / "splits.tsv", encoding="utf-8") as handle:
            splits = {row[0]: row[1] for row in csv.reader(handle, delimiter="\t") if len(row) > 1}
    queries = []
    with open(root / "queries.jsonl", encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                data = json.loads(line)
                queries.append(Query(str(data["id"]), data["text"], data.get("locale")))
    queries = [q for q in queries if q.id in qrels]
    if split is not None:
        if split not in set(splits.values()):
            known = ", ".join(sorted(set(splits.values()))) or "none"
            raise ValidationFailed(f"No split {split!r} in {root}/splits.tsv (known: {known}).")
        queries = [q for q in queries if splits.get(q.id) == split]
    return Dataset(root, queries, qrels, splits)
