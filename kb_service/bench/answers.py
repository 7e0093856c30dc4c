"""``kb bench answers``: every demo question through ``POST /v1/answers`` on every channel."""

from __future__ import annotations

import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlmodel import Session

from kb_service.bench.dataset import load_dataset
from kb_service.bench.metrics import percentile
from kb_service.config import get_settings
from kb_service.db import make_engine
from kb_service.main import create_app
from kb_service.models import Role
from kb_service.services import keys
from kb_service.services.content_io import import_folder
from kb_service.services.publishing import Actor

CHANNELS = ("chat", "email", "phone", "social")


@dataclass
class AnswersReport:
    questions: int
    # (language, channel) -> [answered from the expected article in the question's locale]
    results: dict[tuple[str, str], list[bool]] = field(default_factory=dict)
    misses: list[str] = field(default_factory=list)
    latencies_ms: list[float] = field(default_factory=list)

    def share(self, rows: list[bool]) -> float:
        return sum(rows) / len(rows) if rows else 0.0

    def overall(self) -> float:
        return self.share([ok for rows in self.results.values() for ok in rows])

    def as_json(self) -> dict[str, Any]:
        return {
            "questions": self.questions,
            "answered_from_expected_article": round(self.overall(), 4),
            "by_language_and_channel": {
                f"{lang}/{channel}": round(self.share(rows), 4)
                for (lang, channel), rows in sorted(self.results.items())
            },
            "latency_ms_p50": round(percentile(self.latencies_ms, 0.5), 1),
            "latency_ms_p95": round(percentile(self.latencies_ms, 0.95), 1),
            "misses": self.misses,
        }

    def as_text(self) -> str:
        languages = sorted({lang for lang, _ in self.results})
        lines = [
            f"{self.questions} questions x {len(CHANNELS)} channels: "
            f"{self.overall():.1%} answered from the expected article in their own language",
            "language  " + "".join(f"{c:>9}" for c in CHANNELS),
        ]
        for lang in languages:
            cells = "".join(f"{self.share(self.results[(lang, c)]):>9.1%}" for c in CHANNELS)
            count = len(self.results[(lang, CHANNELS[0])])
            lines.append(f"{lang:<8}  {cells}   ({count} questions)")
        lines.append(
            f"POST /v1/answers latency p50 {percentile(self.latencies_ms, 0.5):.1f} ms, "
            f"p95 {percentile(self.latencies_ms, 0.95):.1f} ms"
        )
        lines.extend(f"  miss: {m}" for m in self.misses)
        return "\n".join(lines)


def run_answers_bench(root: Path) -> AnswersReport:
    dataset = load_dataset(root)
    with tempfile.TemporaryDirectory(prefix="kb-bench-") as tmp:
        settings = get_settings().model_copy(update={"data_dir": Path(tmp), "database_url": None})
        with Session(make_engine(settings)) as session:
            import_folder(session, root, actor=Actor("bench"), max_chars=10**9)
            _, key = keys.create_key(session, role=Role.agent, name="bench")
        with TestClient(create_app(settings)) as client:
            return _ask_all(client, dataset, {"Authorization": f"Bearer {key}"})


def _ask_all(client: TestClient, dataset: Any, headers: dict[str, str]) -> AnswersReport:
    report = AnswersReport(questions=len(dataset.queries))
    results: dict[tuple[str, str], list[bool]] = defaultdict(list)
    for query in dataset.queries:
        expected = set(dataset.qrels[query.id])
        for channel in CHANNELS:
            body = {"question": query.text, "channel": channel, "locale": query.locale}
            started = time.perf_counter()
            answer = client.post("/v1/answers", json=body, headers=headers).json()
            report.latencies_ms.append((time.perf_counter() - started) * 1000)
            canonical = answer.get("answer") or {}
            ok = (
                answer.get("status") == "answered"
                and canonical.get("article_id") in expected
                and (query.locale is None or canonical.get("locale") == query.locale)
            )
            results[(query.locale or "unknown", channel)].append(ok)
            if not ok:
                got = (
                    f"{canonical.get('article_id')} ({canonical.get('locale')})"
                    if canonical
                    else f"no_answer (confidence {answer.get('confidence')})"
                )
                report.misses.append(
                    f"{query.id} {channel}: {query.text!r} -> {got}, "
                    f"expected {', '.join(sorted(expected))}"
                )
    report.results = dict(results)
    return report
