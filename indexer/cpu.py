"""What this CPU can do, from the flags Linux lists: the one place that reads them."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path


@cache
def _flags() -> frozenset[str]:
    try:  # Linux; elsewhere no flags, and every caller takes its safe choice
        cpuinfo = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return frozenset()
    return frozenset(
        flag
        for line in cpuinfo.splitlines()
        if re.match(r"flags\s*:", line)
        for flag in line.split(":", 1)[1].split()
    )


def has_any(*flags: str) -> bool:
    """Whether the CPU lists any of ``flags`` (e.g. ``avx512_bf16``)."""
    return not _flags().isdisjoint(flags)
