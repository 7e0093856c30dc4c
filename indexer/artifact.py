"""The index on disk: self-describing generation folders, swapped in atomically.

    <root>/CURRENT                   the name of the serving generation (replaced atomically)
    <root>/generations/<name>/       manifest.json, sections.jsonl, vectors.npy, dense.faiss,
                                     keyword/ (BM25)
    <root>/generations/.tmp-*        a build in progress; removed at start-up if a crash left it

A generation is written completely into a temporary folder, renamed, and only then named in
CURRENT. A crash at any point (even kill -9) leaves CURRENT naming the last complete generation.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import uuid
from pathlib import Path

import numpy as np

from indexer.dense import held_vectors, load_dense, save_dense
from indexer.documents import IndexedSection
from indexer.errors import CorruptIndex, ManifestMismatch
from indexer.hybrid import HybridIndex, Manifest
from indexer.keyword import KeywordIndex

CURRENT = "CURRENT"
KEEP_GENERATIONS = 2


def write_generation(index: HybridIndex, root: Path) -> Path:
    """Write ``index`` as a new generation and make it current; returns its folder."""
    generations = root / "generations"
    generations.mkdir(parents=True, exist_ok=True)
    tmp = generations / f".tmp-{uuid.uuid4().hex}"
    tmp.mkdir()
    _write_files(index, tmp)
    name = f"gen-{index.manifest.kb_revision:08d}-{uuid.uuid4().hex[:8]}"
    final = generations / name
    os.replace(tmp, final)
    _fsync_dir(generations)
    _point_current(root, name)
    _prune(generations, keep=name)
    return final


def _write_files(index: HybridIndex, folder: Path) -> None:
    with open(folder / "sections.jsonl", "w", encoding="utf-8") as out:
        for section, tokens in zip(index.sections, index.tokens, strict=True):
            out.write(json.dumps({**section.to_json(), "tokens": tokens}, ensure_ascii=False))
            out.write("\n")
    np.save(folder / "vectors.npy", index.vectors)
    if index.views is not None:
        np.save(folder / "views.npy", index.views)
    save_dense(index.dense, folder / "dense.faiss")
    index.keyword.save(folder / "keyword")
    # The manifest goes last: a folder without one is never loaded.
    (folder / "manifest.json").write_text(json.dumps(index.manifest.to_json(), indent=2))
    for path in folder.rglob("*"):
        if path.is_file():
            with open(path, "rb") as handle:
                os.fsync(handle.fileno())


def _point_current(root: Path, name: str) -> None:
    tmp = root / f"{CURRENT}.tmp"
    with open(tmp, "w") as out:
        out.write(name + "\n")
        out.flush()
        os.fsync(out.fileno())
    os.replace(tmp, root / CURRENT)
    _fsync_dir(root)


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _prune(generations: Path, *, keep: str) -> None:
    """Keep the newest generations (the serving one and its predecessor), drop the rest."""
    names = sorted(p.name for p in generations.iterdir() if p.name.startswith("gen-"))
    for name in names[:-KEEP_GENERATIONS]:
        if name != keep:
            shutil.rmtree(generations / name, ignore_errors=True)


def remove_partial_builds(root: Path) -> int:
    """Delete leftovers of builds that crashed; returns how many were removed."""
    generations = root / "generations"
    if not generations.is_dir():
        return 0
    leftovers = [p for p in generations.iterdir() if p.name.startswith(".tmp-")]
    for path in leftovers:
        shutil.rmtree(path, ignore_errors=True)
    return len(leftovers)


def current_generation(root: Path) -> Path | None:
    pointer = root / CURRENT
    if not pointer.is_file():
        return None
    return root / "generations" / pointer.read_text().strip()


def read_manifest(folder: Path) -> Manifest:
    try:
        return Manifest(**json.loads((folder / "manifest.json").read_text()))
    except (OSError, ValueError, TypeError) as exc:
        raise CorruptIndex(f"{folder} has no readable manifest: {exc}") from exc


def check_manifest(
    manifest: Manifest,
    *,
    model: str,
    folder: Path,
    dimension: int | None = None,
    view: str | None = None,
) -> None:
    """Refuse a generation built with other settings; ``None`` skips a check (before the
    model is loaded, only its name is known)."""
    if (
        manifest.model != model
        or (dimension is not None and manifest.dimension != dimension)
        or not manifest.normalized
    ):
        raise ManifestMismatch(
            f"The index at {folder} was built with model {manifest.model!r} "
            f"(dimension {manifest.dimension}), but the settings name {model!r}"
            + (f" (dimension {dimension})" if dimension is not None else "")
            + ". Rebuild it with `kb index rebuild`, or set KB_EMBEDDING_MODEL to the model "
            "it was built with."
        )
    if view is not None and manifest.view != view:
        raise ManifestMismatch(
            f"The index at {folder} has second view {manifest.view or 'none'!r}, but the "
            f"embedder gives {view or 'none'!r}. Rebuild it with `kb index rebuild`."
        )


def load_generation(folder: Path, *, model: str, dimension: int, view: str = "") -> HybridIndex:
    manifest = read_manifest(folder)
    check_manifest(manifest, model=model, dimension=dimension, folder=folder, view=view)
    try:
        sections, tokens = [], []
        with open(folder / "sections.jsonl", encoding="utf-8") as lines:
            for line in lines:
                data = json.loads(line)
                tokens.append([sys.intern(t) for t in data.pop("tokens")])  # see section_tokens
                sections.append(IndexedSection.from_json(data))
        dense = load_dense(folder / "dense.faiss")
        # vectors.npy holds the same as an exact index: one copy in memory (IVF holds codes)
        held = held_vectors(dense)
        vectors = held if held is not None else np.load(folder / "vectors.npy")
        keyword = KeywordIndex.load(folder / "keyword")
        views = np.load(folder / "views.npy") if manifest.view else None
    except (OSError, ValueError, KeyError, RuntimeError) as exc:
        raise CorruptIndex(f"{folder} is incomplete or unreadable: {exc}") from exc
    return HybridIndex(manifest, sections, tokens, vectors, dense, keyword, views)
