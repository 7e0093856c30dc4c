"""The index artifact: manifest checks, atomic swaps, crash leftovers, the IVF switch."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Sequence
from pathlib import Path

import faiss
import numpy as np
import pytest

from indexer import artifact, hybrid
from indexer.build import build_index
from indexer.dense import build_dense, inner_products_at, kind_of, nearest
from indexer.documents import SourceDocument
from indexer.embed import HashingEmbedder, Vectors
from indexer.errors import ManifestMismatch

DOCS = [
    SourceDocument(
        "a",
        "KB-0001",
        "en-GB",
        1,
        "Roaming",
        "Roaming in the EU is free.\n\n## Outside the EU\nBuy a daily pass for 5 EUR.",
        "h1",
    ),
    SourceDocument("b", "KB-0002", "pl-PL", 1, "Faktury", "Fakturę znajdziesz w aplikacji.", "h2"),
]


def test_generation_round_trip_and_manifest(tmp_path: Path) -> None:
    embedder = HashingEmbedder()
    index = build_index(DOCS, embedder=embedder, kb_revision=7)
    folder = artifact.write_generation(index, tmp_path)
    assert artifact.current_generation(tmp_path) == folder
    manifest = artifact.read_manifest(folder)
    assert (manifest.model, manifest.dimension, manifest.kb_revision) == ("hashing-64", 64, 7)
    assert manifest.normalized and manifest.dense_index == "flat"
    loaded = artifact.load_generation(folder, model="hashing-64", dimension=64)
    assert [s.section_id for s in loaded.sections] == [s.section_id for s in index.sections]
    assert loaded.search("daily pass outside EU", embedder).hits[0].section.article_id == "a"


def test_mismatched_manifest_is_refused_with_a_clear_message(tmp_path: Path) -> None:
    folder = artifact.write_generation(
        build_index(DOCS, embedder=HashingEmbedder(), kb_revision=1), tmp_path
    )
    with pytest.raises(ManifestMismatch, match="kb index rebuild"):
        artifact.load_generation(folder, model="multilingual-e5-small", dimension=384)


def test_rebuild_reuses_vectors_of_unchanged_sections(tmp_path: Path) -> None:
    class Counting(HashingEmbedder):
        embedded = 0

        def embed_passages(self, texts: Sequence[str]) -> Vectors:
            Counting.embedded += len(texts)
            return super().embed_passages(texts)

    embedder = Counting()
    first = build_index(DOCS, embedder=embedder, kb_revision=1)
    assert Counting.embedded == len(first.sections)
    changed = [
        DOCS[0],
        SourceDocument(
            "b", "KB-0002", "pl-PL", 2, "Faktury", "Fakturę pobierzesz w aplikacji.", "h3"
        ),
    ]
    Counting.embedded = 0
    build_index(changed, embedder=embedder, kb_revision=2, previous=first)
    assert Counting.embedded == 1  # only the edited article's section


def test_only_complete_generations_are_served_and_old_ones_pruned(tmp_path: Path) -> None:
    embedder = HashingEmbedder()
    for revision in range(1, 5):
        artifact.write_generation(
            build_index(DOCS, embedder=embedder, kb_revision=revision), tmp_path
        )
    names = sorted(p.name for p in (tmp_path / "generations").iterdir())
    assert len(names) == artifact.KEEP_GENERATIONS
    current = artifact.current_generation(tmp_path)
    assert current is not None and current.name == names[-1]  # the newest one is served
    assert artifact.read_manifest(current).kb_revision == 4
    (tmp_path / "generations" / ".tmp-dead").mkdir()
    assert artifact.remove_partial_builds(tmp_path) == 1
    assert sorted(p.name for p in (tmp_path / "generations").iterdir()) == names


def test_kill_9_during_a_build_leaves_the_last_good_index(tmp_path: Path) -> None:
    """A real SIGKILL while a second build is embedding and writing."""
    artifact.write_generation(
        build_index(DOCS, embedder=HashingEmbedder(), kb_revision=1), tmp_path
    )
    good = artifact.current_generation(tmp_path)
    assert good is not None
    script = textwrap.dedent(f"""
        import time, numpy as np
        from pathlib import Path
        from indexer import artifact
        from indexer.build import build_index
        from indexer.embed import HashingEmbedder, Vectors
        from indexer.documents import SourceDocument
        class Slow(HashingEmbedder):
            def embed_passages(self, texts):
                print("embedding", flush=True)
                time.sleep(0.2)
                return super().embed_passages(texts)
        docs = [SourceDocument(str(i), "KB-%04d" % i, "en-GB", 1, "T", "Body %d" % i, "h")
                for i in range(2000)]
        index = build_index(docs, embedder=Slow(), kb_revision=2)
        artifact.write_generation(index, Path({str(tmp_path)!r}))
    """)
    process = subprocess.Popen(
        [sys.executable, "-c", script],
        stdout=subprocess.PIPE,
        cwd=Path(__file__).resolve().parent.parent,
        text=True,
    )
    assert process.stdout is not None
    assert process.stdout.readline().strip() == "embedding"
    time.sleep(0.3)
    os.kill(process.pid, signal.SIGKILL)
    assert process.wait() == -signal.SIGKILL  # killed mid-build, not finished before the kill
    assert artifact.current_generation(tmp_path) == good
    loaded = artifact.load_generation(good, model="hashing-64", dimension=64)
    assert loaded.manifest.kb_revision == 1


def clustered_vectors(count: int, dimension: int, seed: int, spread: float = 0.6) -> Vectors:
    """Normalised vectors around many centres: closer to text embeddings than uniform noise."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(max(count // 50, 1), dimension)).astype(np.float32)
    vectors = centres[rng.integers(0, len(centres), count)]
    vectors = vectors + spread * rng.normal(size=(count, dimension)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors.astype(np.float32)


@pytest.mark.parametrize("spread", [0.6, 0.05])
def test_ivf_above_threshold_keeps_recall(spread: float) -> None:
    """Loose clusters, and tight clusters of near-duplicates (templated articles), where HNSW
    lost whole clusters."""
    data = clustered_vectors(40_000, 384, seed=3, spread=spread)  # the model's dimension
    # questions near what the KB holds: a section moved as far as a paraphrase moves it
    rng = np.random.default_rng(4)
    probes = data[rng.integers(0, len(data), 50)] + rng.normal(size=(50, 384)) * 0.02
    probes = (probes / np.linalg.norm(probes, axis=1, keepdims=True)).astype(np.float32)
    approximate = build_dense(data, ann_threshold=1000)
    assert approximate.nprobe < approximate.nlist / 3  # approximate: most clusters unread
    exact = build_dense(data, ann_threshold=10**9)
    assert (kind_of(approximate), kind_of(exact)) == ("ivf", "flat")
    hits = 0
    for probe in probes:
        truth = set(np.argsort(-(data @ probe))[:10].tolist())
        found = set(nearest(approximate, data, probe, 10).tolist())
        hits += len(truth & found)
    assert hits / (10 * len(probes)) >= 0.99


def test_a_question_without_diacritics_is_searched_with_them() -> None:
    embedder = HashingEmbedder()
    index = build_index(DOCS, embedder=embedder, kb_revision=1)
    result = index.search(
        "Gdzie znajde fakture?", embedder, locale="pl-PL"
    )  # "znajdę": not in the KB
    assert result.query == "Gdzie znajde fakturę?"
    assert result.hits[0].section.article_id == "b"


def _topic_docs(count: int) -> list[SourceDocument]:
    """``count`` articles, each on its own few rare words among common ones."""
    rng = np.random.default_rng(5)
    common = [_word(i) for i in range(40)]
    docs = []
    for i in range(count):
        own = [_word(1000 + 3 * i + j) for j in range(3)]
        words = [*rng.choice(common, 20).tolist(), *own, *own]
        docs.append(
            SourceDocument(f"a{i}", f"KB-{i:04d}", "en-GB", 1, f"Article {i}", " ".join(words), "h")
        )
    return docs


def _word(n: int) -> str:
    """A made-up word of letters only (the analyser splits words at digits)."""
    letters = "bcdfghjklmnpqrstvwz"
    return "".join(letters[int(d)] for d in f"{n:05d}") + "a"


def test_ivf_search_ranks_candidates_as_exact_search_ranks_everything(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Above the threshold only candidates are scored, with the dense spread estimated from a
    sample: the articles found and their scores stay those of scoring every section."""
    docs = _topic_docs(600)
    embedder = HashingEmbedder()
    exact = build_index(docs, embedder=embedder, kb_revision=1, ann_threshold=10**9)
    approximate = build_index(docs, embedder=embedder, kb_revision=1, ann_threshold=100)
    assert (exact.manifest.dense_index, approximate.manifest.dense_index) == ("flat", "ivf")
    monkeypatch.setattr(hybrid, "ANN_CANDIDATES", 50)  # far fewer than the 600 sections
    monkeypatch.setattr(hybrid, "SPREAD_SAMPLE", 200)
    for i in range(0, 600, 37):
        question = f"{_word(1000 + 3 * i)} {_word(1001 + 3 * i)} {_word(3)}"
        want = exact.search(question, embedder, limit=3).hits
        got = approximate.search(question, embedder, limit=3).hits
        assert got[0].section.article_id == want[0].section.article_id
        assert got[0].dense_score == pytest.approx(want[0].dense_score, abs=1e-5)
        assert got[0].keyword_score == pytest.approx(want[0].keyword_score, abs=1e-5)
        assert got[0].score == pytest.approx(want[0].score, rel=0.1)


QUESTION_PATH = ("indexer/hybrid.py", "indexer/phrasings.py", "indexer/dense.py")


@pytest.mark.parametrize("module", [*QUESTION_PATH, "kb_service/services/topics.py"])
def test_no_blas_product_on_a_question_path(module: str) -> None:
    """numpy's ``@``/``dot``/``matmul`` call OpenBLAS, whose threads spin after a product on the
    cores the model needs (a search at 5,237 sections took 111 ms instead of 24 over HTTP):
    products on a question's path go through ``indexer.dense.inner_products``."""
    source = (Path(__file__).resolve().parents[1] / module).read_text(encoding="utf-8")
    code = "\n".join(line.split("#")[0] for line in source.splitlines())
    code = re.sub(r'"""[\s\S]*?"""', "", code)  # docstrings may show the product they avoid
    for product in (r"\w\]?\)? @ \w", r"\bnp\.(dot|matmul|inner)\(", r"\.dot\("):
        assert not re.search(product, code), f"{module}: a BLAS product ({product})"


def _rows_and_vector() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(6)
    matrix = rng.normal(size=(500, 384)).astype(np.float32)
    return matrix, np.array([499, 0, 7, 7, 250], dtype=np.int64), matrix[3].copy()


def test_inner_products_at_rows_are_those_of_the_copied_rows() -> None:
    matrix, rows, vector = _rows_and_vector()
    want = np.einsum("ij,j->i", matrix[rows], vector)
    assert inner_products_at(matrix, rows, vector) == pytest.approx(want, abs=1e-4)
    assert inner_products_at(matrix, rows[:0], vector).shape == (0,)
    # a matrix FAISS cannot read in place: the rows are copied out, the products the same
    every_other_row = np.repeat(matrix, 2, axis=0)[::2]
    for other in (np.asfortranarray(matrix), every_other_row):
        assert not other.flags.c_contiguous
        assert inner_products_at(other, rows, vector) == pytest.approx(want, abs=1e-4)
    for outside in (500, -1):  # FAISS would read past the matrix, numpy wrap -1 round
        for either in (matrix, every_other_row):
            with pytest.raises(IndexError):
                inner_products_at(either, np.array([0, outside], dtype=np.int64), vector)


def test_inner_products_at_gives_faiss_one_thread_and_restores_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """FAISS's OpenMP threads spin after the call, on the cores the model needs: on the 2-core
    machine a two-thread question encoding after each took 21 ms, not 13
    (``indexer.dense._one_faiss_thread``)."""
    matrix, rows, vector = _rows_and_vector()
    threads_inside: list[int] = []
    real = faiss.fvec_inner_products_by_idx

    def spy(*args: object) -> None:
        threads_inside.append(faiss.omp_get_max_threads())
        real(*args)

    monkeypatch.setattr(faiss, "fvec_inner_products_by_idx", spy)
    before = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(2)  # as on a machine of two cores or more
    try:
        inner_products_at(matrix, rows, vector)
        assert threads_inside == [1]
        assert faiss.omp_get_max_threads() == 2  # an index build after it keeps its threads
    finally:
        faiss.omp_set_num_threads(before)


def _article(article_id: str, title: str, *sections: tuple[str, str]) -> SourceDocument:
    body = "\n\n".join(f"## {heading}\n{(text + ' ') * 8}" for heading, text in sections)
    return SourceDocument(article_id, f"KB-{article_id}", "en-GB", 1, title, body, article_id)


def test_a_question_in_a_language_the_kb_lacks_ranks_articles_by_two_sections() -> None:
    """Across languages one section's match is a noisier witness: an article whose two
    sections both match outranks one with a single better section (fusion.SECOND_SECTION_WEIGHT);
    a question in the KB's own language still ranks by the best section alone."""
    other = [
        "invoice payment card bank",
        "router wifi password reset",
        "roaming abroad daily pass",
        "contract cancel notice period",
        "sim card activation pin",
        "moving house new address",
    ]
    docs = [
        _article(
            "lucky",
            "Shop",
            ("Where", "parcel tracking number status"),
            ("Other", "opening hours weekend holidays"),
        ),
        _article(
            "steady",
            "Parcels",
            ("Track", "parcel tracking status online"),
            ("Delay", "parcel tracking status late"),
        ),
        *[_article(f"f{i}", "Misc", ("A", t), ("B", t + " help")) for i, t in enumerate(other)],
    ]
    embedder = HashingEmbedder(dimension=1024)  # few collisions: the words decide
    index = build_index(docs, embedder=embedder, kb_revision=1)
    question = "parcel tracking number status"
    own = index.search(question, embedder, locale="en-GB", limit=2).hits
    foreign = index.search(question, embedder, locale="sl-SI", limit=2).hits
    assert [h.section.article_id for h in own] == ["lucky", "steady"]
    assert [h.section.article_id for h in foreign] == ["steady", "lucky"]
    assert foreign[1].score > foreign[0].score  # lucky's best section is still the better one
