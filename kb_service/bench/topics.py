"""``kb bench topics``: how well the insights' topics match known groups of questions.

A dataset's ``queries.jsonl`` lines carry a ``group`` (the same question in several languages,
or paraphrases). Every question is asked through ``POST /v1/answers`` (real HTTP, as in
``kb bench answers``; channels taken in turn), then ``GET /v1/insights/topics`` and each
topic's questions say which topic every question landed in.

* ``merged``: the share of groups whose questions all landed in one topic;
* ``purity``: the share of questions whose topic's majority group is their own.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kb_service.bench.answers import CHANNELS, _Client, served_dataset
from kb_service.errors import ValidationFailed


@dataclass(frozen=True)
class GroupedQuery:
    id: str
    text: str
    locale: str | None
    group: str


@dataclass
class TopicsReport:
    questions: int
    groups: int
    topics: int
    merged: float
    purity: float
    split_groups: dict[str, list[int]] = field(default_factory=dict)  # group -> its topics
    mixed_topics: dict[int, dict[str, int]] = field(default_factory=dict)  # topic -> groups

    def as_json(self) -> dict[str, Any]:
        return {
            "questions": self.questions,
            "groups": self.groups,
            "topics": self.topics,
            "merged": round(self.merged, 4),
            "purity": round(self.purity, 4),
            "split_groups": self.split_groups,
            "mixed_topics": {str(k): v for k, v in self.mixed_topics.items()},
        }

    def as_text(self) -> str:
        lines = [
            f"{self.questions} questions in {self.groups} groups -> {self.topics} topics",
            f"merged {self.merged:.3f} (groups whole in one topic), "
            f"purity {self.purity:.3f} (questions in a topic whose majority is their group)",
        ]
        lines.extend(f"  split: {g} -> topics {t}" for g, t in sorted(self.split_groups.items()))
        lines.extend(f"  mixed: topic {t}: {g}" for t, g in sorted(self.mixed_topics.items()))
        return "\n".join(lines)


def load_grouped(root: Path) -> list[GroupedQuery]:
    path = root / "queries.jsonl"
    if not path.is_file():
        raise ValidationFailed(f"{root} has no queries.jsonl; see `kb bench topics --help`.")
    queries = []
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            data = json.loads(line)
            if "group" not in data:
                raise ValidationFailed(f"{path}:{number}: no 'group' field")
            queries.append(
                GroupedQuery(str(data["id"]), data["text"], data.get("locale"), str(data["group"]))
            )
    return queries


def run_topics_bench(root: Path) -> TopicsReport:
    queries = load_grouped(root)
    with served_dataset(root) as client:
        group_of: dict[str, str] = {}
        for n, query in enumerate(queries):
            body = {"question": query.text, "channel": CHANNELS[n % len(CHANNELS)]}
            if query.locale:
                body["locale"] = query.locale
            group_of[client.post("/v1/answers", body)["answer_id"]] = query.group
        topic_of = _topics_of(client, len(queries))
    return score(group_of, topic_of)


def _topics_of(client: _Client, questions: int) -> dict[str, int]:
    report = client.get(f"/v1/insights/topics?days=1&limit={min(200, questions)}")
    topic_of: dict[str, int] = {}
    for topic in report["topics"]:
        detail = client.get(f"/v1/insights/topics/{topic['topic_id']}?days=1&limit=500")
        for question in detail["questions"]:
            topic_of[question["answer_id"]] = topic["topic_id"]
    return topic_of


def score(group_of: dict[str, str], topic_of: dict[str, int]) -> TopicsReport:
    """``group_of``: answer id -> its group; ``topic_of``: answer id -> its topic."""
    topics_by_group: dict[str, set[int]] = defaultdict(set)
    groups_by_topic: dict[int, Counter[str]] = defaultdict(Counter)
    for answer_id, group in group_of.items():
        topic = topic_of.get(answer_id, -1)  # -1: not in any reported topic
        topics_by_group[group].add(topic)
        groups_by_topic[topic][group] += 1
    merged = sum(len(t) == 1 for t in topics_by_group.values()) / max(len(topics_by_group), 1)
    pure = sum(
        groups_by_topic[topic_of.get(a, -1)].most_common(1)[0][0] == g for a, g in group_of.items()
    )
    return TopicsReport(
        questions=len(group_of),
        groups=len(topics_by_group),
        topics=len(groups_by_topic),
        merged=merged,
        purity=pure / max(len(group_of), 1),
        split_groups={g: sorted(t) for g, t in topics_by_group.items() if len(t) > 1},
        mixed_topics={t: dict(c) for t, c in groups_by_topic.items() if len(c) > 1},
    )
