"""The benchmarks: the retrieval bench's question noise and whole runs on a small dataset, of
``kb bench retrieval`` and of ``kb bench answers`` (over real HTTP, without httpx)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from indexer.embed import Embedder
from kb_service.bench.noise import add_noise
from kb_service.bench.retrieval import run_retrieval_bench
from kb_service.cli import app
from kb_service.config import Settings

REPO = Path(__file__).resolve().parent.parent
QUESTION = "Jak zwrócić zakupione czasopisma w sklepie internetowym?"


def _edit_distance(a: str, b: str) -> int:
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def test_noise_is_off_by_default() -> None:
    assert add_noise(QUESTION, key="q1") == QUESTION


def test_noise_is_the_same_for_the_same_question() -> None:
    once = add_noise(QUESTION, key="q1", typo_rate=0.5)
    assert once == add_noise(QUESTION, key="q1", typo_rate=0.5)
    others = {add_noise(QUESTION, key=f"q{i}", typo_rate=0.5) for i in range(20)}
    assert len(others) > 5, "the seed must depend on the question id"


def test_every_long_word_gets_exactly_one_slip_at_rate_one() -> None:
    noisy = add_noise(QUESTION, key="q7", typo_rate=1.0).split()
    for clean, typed in zip(QUESTION.split(), noisy, strict=True):
        word = clean.rstrip("?")
        if len(word) < 4:
            assert typed == clean
        else:
            # a swap is two single-letter edits; a drop or a doubled letter is one
            assert typed != clean and typed[0] == clean[0]
            assert 1 <= _edit_distance(clean, typed) <= 2


def test_diacritics_are_stripped_from_latin_letters_only() -> None:
    assert add_noise("Opłata za źdźbło, ŁÓDŹ", key="x", strip_diacritics=True) == (
        "Oplata za zdzblo, LODZ"
    )
    assert add_noise("Kdaj bo račun plačan?", key="x", strip_diacritics=True) == (
        "Kdaj bo racun placan?"
    )
    ukrainian = "Як змінити тариф у Київі?"
    assert add_noise(ukrainian, key="x", strip_diacritics=True) == ukrainian


def test_a_typo_rate_outside_zero_to_one_is_refused() -> None:
    with pytest.raises(ValueError):
        add_noise(QUESTION, key="q1", typo_rate=1.5)


def _write_dataset(root: Path) -> Path:
    """Three articles in the allegro_faq layout, one question each, two splits."""
    articles = {
        "roaming": (
            "Roaming w Unii Europejskiej",
            "Za granicą w UE dzwonisz i korzystasz z "
            "internetu w cenie krajowej. Włącz roaming danych w ustawieniach telefonu.",
        ),
        "invoice": (
            "Faktura za usługi",
            "Fakturę znajdziesz w aplikacji w zakładce Płatności. "
            "Możesz ją pobrać jako PDF albo zamówić wysyłkę e-mailem.",
        ),
        "sim": (
            "Uszkodzona karta SIM",
            "Jeśli karta SIM jest uszkodzona, zamów nową w salonie "
            "lub w aplikacji. Numer telefonu pozostaje bez zmian.",
        ),
    }
    (root / "articles").mkdir(parents=True)
    for article_id, (title, text) in articles.items():
        (root / "articles" / f"{article_id}.md").write_text(
            f"---\nid: {article_id}\ntitle: {title}\nlocale: pl-PL\n---\n\n{text}\n",
            encoding="utf-8",
        )
    queries = [
        ("q1", "Czy za granicą w Niemczech zapłacę więcej za internet?", "roaming"),
        ("q2", "Gdzie pobiorę fakturę?", "invoice"),
        ("q3", "Moja karta SIM nie działa, co robić?", "sim"),
    ]
    (root / "queries.jsonl").write_text(
        "".join(json.dumps({"id": q, "text": t, "locale": "pl-PL"}) + "\n" for q, t, _ in queries),
        encoding="utf-8",
    )
    (root / "qrels.tsv").write_text("".join(f"{q}\t{a}\t1\n" for q, _, a in queries))
    (root / "splits.tsv").write_text("q1\ttest-A\nq2\ttest-B\nq3\ttest-B\n")
    return root


@pytest.mark.model
def test_a_whole_run_with_the_real_model(tmp_path: Path, real_embedder: Embedder) -> None:
    dataset = _write_dataset(tmp_path / "set")
    base = Settings(data_dir=tmp_path / "unused", embedding_model="default")
    clean = run_retrieval_bench(dataset, base=base, embedder=real_embedder)
    assert clean.queries == 3 and clean.sections == 3
    assert clean.ndcg_at_10 == 1.0 and clean.success_at_1 == 1.0
    split = run_retrieval_bench(dataset, split="test-B", base=base, embedder=real_embedder)
    assert split.queries == 2
    noisy = run_retrieval_bench(
        dataset, base=base, embedder=real_embedder, typo_rate=0.3, strip_diacritics=True
    )
    assert noisy.typo_rate == 0.3 and noisy.strip_diacritics
    assert "typo rate 0.3, diacritics stripped; 3 of 3 questions changed" in noisy.as_text()
    assert clean.questions_changed == 0 and noisy.questions_changed == 3
    # three very different topics: a hurried customer still gets the right article
    assert noisy.success_at_1 == 1.0


def _kb(*args: str) -> Result:
    return CliRunner().invoke(app, list(args), prog_name="kb")


def test_the_command_prints_exactly_one_json_object(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KB_DATA_DIR", str(tmp_path / "data"))
    dataset = _write_dataset(tmp_path / "set")
    result = _kb("bench", "retrieval", "--dataset", str(dataset), "--json", "--model", "hashing",
                 "--typo-rate", "0.2", "--split", "test-B")  # fmt: skip
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    for key in ("ndcg_at_10", "mrr_at_10", "recall_at_10", "success_at_1", "index_seconds",
                "latency_ms_p50", "latency_ms_p95", "queries"):  # fmt: skip
        assert key in report
    assert report["queries"] == 2 and report["typo_rate"] == 0.2


def test_the_command_refuses_a_typo_rate_above_one(tmp_path: Path) -> None:
    dataset = _write_dataset(tmp_path / "set")
    result = _kb("bench", "retrieval", "--dataset", str(dataset), "--typo-rate", "2")
    assert result.exit_code == 2
    assert "typo-rate" in result.stderr


# The hashing fake's cosines are small: a midpoint of 0 lets its best hits pass as answers.
ANSWERS_ENV = {"KB_EMBEDDING_MODEL": "hashing", "KB_CONFIDENCE_MIDPOINT": "0"}


def _check_answers_report(report: dict[str, Any]) -> None:
    assert report["questions"] == 3
    assert report["by_language_and_channel"] == {
        f"pl-PL/{channel}": report["answered_from_expected_article"]
        for channel in ("chat", "email", "phone", "social")
    }
    # answers came back over HTTP and were scored against the qrels
    assert 0 < report["answered_from_expected_article"] <= 1
    assert report["latency_ms_p50"] > 0
    assert isinstance(report["misses"], list)


def test_the_answers_bench_asks_over_http(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KB_DATA_DIR", str(tmp_path / "data"))
    for name, value in ANSWERS_ENV.items():
        monkeypatch.setenv(name, value)
    dataset = _write_dataset(tmp_path / "set")
    result = _kb("bench", "answers", "--dataset", str(dataset), "--json")
    assert result.exit_code == 0, result.output
    _check_answers_report(json.loads(result.stdout))
    text = _kb("bench", "answers", "--dataset", str(dataset))
    assert text.exit_code == 0, text.output
    assert text.stdout.startswith("3 questions x 4 channels: ")
    assert "POST /v1/answers latency p50 " in text.stdout


def test_the_answers_bench_needs_no_httpx(tmp_path: Path) -> None:
    """``pip install .`` has no httpx (a dev extra): the bench must run with it unimportable."""
    dataset = _write_dataset(tmp_path / "set")
    script = textwrap.dedent(f"""
        import sys
        sys.modules["httpx"] = None  # from here on, `import httpx` raises ImportError
        from kb_service.cli import main
        sys.argv = ["kb", "bench", "answers", "--dataset", {str(dataset)!r}, "--json"]
        main()
    """)
    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=REPO,
        env={**os.environ, **ANSWERS_ENV, "KB_DATA_DIR": str(tmp_path / "data")},
        check=False,
    )
    assert result.returncode == 0, result.stderr
    _check_answers_report(json.loads(result.stdout))


def test_the_scale_bench_reports_a_grown_kb_served_by_another_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Plumbing at 2,000 sections with IVF forced on (threshold 500); no timing asserted."""
    monkeypatch.setenv("KB_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("KB_ANN_THRESHOLD", "500")
    for name, value in ANSWERS_ENV.items():
        monkeypatch.setenv(name, value)
    content = Path(__file__).resolve().parents[1] / "content"
    result = _kb("bench", "scale", "--sections", "2000", "--dataset", str(content), "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["dense_index"] == "ivf"
    assert 2000 <= report["sections"] < 2000 + report["real_sections"]
    assert report["recall_at_10"] >= 0.99
    questions = 2 * len((content / "queries.jsonl").read_text().splitlines())  # and hurried
    assert report["queries"] == report["answers"] == questions
    assert 0 < report["rss_mb"] <= report["peak_rss_mb"]  # the serving process's, from /proc
    for name in ("p50_ms", "p95_ms", "build_seconds", "answer_p50_ms", "demo_answer_p50_ms"):
        assert report[name] > 0
    # the searches' parts come from the serving process's Server-Timing headers
    for part in ("encode", "index", "rest"):
        assert 0 < report[f"search_{part}_p50_ms"] <= report[f"search_{part}_p95_ms"]


LOAD_KEYS = {
    "floor_p50_ms",
    "floor_rps",
    "rps_max",
    "p50_ms",
    "p95_ms",
    "p99_ms",
    "ratio_p50",
    "ratio_p99",
    "errors",
}


def _check_load_report(report: dict[str, Any], targets: int) -> None:
    """Plumbing, not timing: every number is there, was measured, and nothing failed."""
    assert LOAD_KEYS <= set(report), LOAD_KEYS - set(report)
    assert report["errors"] == 0, report["error_kinds"]
    assert report["floor_p50_ms"] > 0 and report["rps_max"] > 0 and report["p50_ms"] > 0
    # the floor is measured before and after the load, and the reported one pools both
    before, after = report["floor_before_p50_ms"], report["floor_after_p50_ms"]
    assert before > 0 and after > 0
    assert min(before, after) - 0.1 <= report["floor_p50_ms"] <= max(before, after) + 0.1
    # the ratio is of the unrounded numbers: within what rounding both to 0.1 ms allows
    # (with the hashing encoder the floor is under a millisecond, so that is wide)
    p50, floor = report["p50_ms"], report["floor_p50_ms"]
    lowest, highest = (p50 - 0.05) / (floor + 0.05), (p50 + 0.05) / max(floor - 0.05, 1e-3)
    assert lowest - 0.01 <= report["ratio_p50"] <= highest + 0.01, (lowest, highest)
    assert len(report["targets"]) == targets
    # one at a time at the open loop's pace: in process, and over HTTP (its errors counted)
    assert report["paced_every_ms"] == pytest.approx(
        1000 * (report["workers"] or targets) / report["offered_rps"], rel=0.01
    )
    assert report["floor_paced_p50_ms"] > 0 and report["lone_p50_ms"] > 0
    paced = report["floor_paced_p50_ms"]
    lowest, highest = (p50 - 0.05) / (paced + 0.05), (p50 + 0.05) / max(paced - 0.05, 1e-3)
    assert lowest - 0.01 <= report["ratio_p50_paced"] <= highest + 0.01, (lowest, highest)


def test_paced_questions_arrive_as_poisson_never_two_at_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from kb_service.bench import load

    clock = [100.0]
    monkeypatch.setattr("kb_service.bench.load.time.perf_counter", lambda: clock[0])
    arrivals = load._arrivals(10.0)
    starts = []
    for _ in range(2000):
        starts.append(next(arrivals))
        clock[0] = starts[-1] + 0.001  # each question done 1 ms after its start
    gaps = [b - a for a, b in zip(starts, starts[1:], strict=False)]
    assert min(gaps) > 0 and sum(gaps) / len(gaps) == pytest.approx(0.1, rel=0.1)
    # a question that overran its gap: the next one starts when it is done, not earlier
    clock[0] = starts[-1] + 60.0
    assert next(arrivals) == clock[0]


def test_the_load_report_splits_the_open_loops_p50_into_its_parts() -> None:
    from kb_service.bench.load import LoadReport, Phase

    report = LoadReport(
        targets=["127.0.0.1:1"],
        workers=2,
        threads_per_worker=1,
        concurrency=8,
        floor_before_ms=[30.0],
        floor_after_ms=[30.0],
        closed=Phase(1.0, latencies_ms=[50.0] * 40),
        open=Phase(
            1.0,
            latencies_ms=[60.0] * 19 + [200.0],
            server=[{"app": 54.0, "record": 2.0}] * 19 + [{"app": 190.0, "record": 150.0}],
        ),
        offered_rps=20.0,
        paced_rps=10.0,
        floor_paced_ms=[33.0],
        lone=Phase(1.0, latencies_ms=[40.0] * 5, errors=Counter({"HTTP 500": 1})),
    )
    j = report.as_json()
    assert j["ratio_p50"] == 2.0 and j["ratio_p50_paced"] == pytest.approx(60 / 33, abs=0.01)
    assert j["paced_every_ms"] == 100.0 and j["lone_p50_ms"] == 40.0
    assert j["errors"] == 1 and j["error_kinds"] == {"HTTP 500": 1}  # the lone answers' too
    # the means hide the one stalled answer; the p99 answers' own means show where it waited
    assert j["open_server_ms"] == {"app": 60.8, "record": 9.4, "outside": 6.2}
    assert j["open_p99_server_ms"] == {"app": 190.0, "record": 150.0, "outside": 10.0}
    assert "its answers at or over p99, mean ms per answer: app 190.0, record 150.0" in (
        report.as_text()
    )
    assert (
        "open loop p50 60.0 ms = floor 30.0 + machine idling between questions +3.0 "
        "+ the service, one answer at a time +7.0 + answers at once (queueing, contention) +20.0"
    ) in report.as_text()


@pytest.mark.slow
def test_the_load_bench_serves_two_workers_and_loads_them_over_http(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "KB_DATABASE_URL"}
    env |= {"KB_EMBEDDING_MODEL": "hashing", "KB_DATA_DIR": str(tmp_path / "data")}
    command = [sys.executable, "-c", "from kb_service.cli import main; main()", "bench", "load"]
    result = subprocess.run(
        [*command, "--seconds", "1", "--workers", "2", "--json"],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=REPO,
        env=env,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    _check_load_report(report, targets=1)
    assert report["workers"] == 2 and report["threads_per_worker"] >= 1
    # where the open loop's time went, from the answers' Server-Timing headers
    steps = report["open_server_ms"]
    assert {"queue", "encode", "search", "render", "record", "app", "outside"} <= set(steps)
    assert steps["app"] >= steps["encode"] + steps["search"] > 0
    slowest = report["open_p99_server_ms"]
    assert {"record", "app", "outside"} <= set(slowest)
    # the slowest answers took longer than the average one (app + outside: the latency)
    assert slowest["app"] + slowest["outside"] > steps["app"] + steps["outside"]


@pytest.mark.slow
def test_the_load_bench_spreads_its_load_over_the_urls_given(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from kb_service.bench.answers import served_dataset

    monkeypatch.setenv("KB_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("KB_EMBEDDING_MODEL", "hashing")
    with served_dataset(REPO / "content") as client:
        url = f"http://127.0.0.1:{client._connection.port}"
        key = client._headers["Authorization"].removeprefix("Bearer ")
        result = _kb("bench", "load", "--url", url, "--url", url, "--key", key, "--seconds", "1")
        assert result.exit_code == 0, result.output
        assert "closed loop, 8 clients" in result.stdout
        as_json = _kb(
            "bench", "load", "--url", url, "--url", url, "--key", key, "--seconds", "1", "--json"
        )
    assert as_json.exit_code == 0, as_json.output
    _check_load_report(json.loads(as_json.stdout), targets=2)
    assert _kb("bench", "load", "--url", url, "--seconds", "1").exit_code == 1  # no --key
