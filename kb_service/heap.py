"""The serving process's heap and Python's cyclic garbage collector.

A full collection walks every object the collector tracks, with the GIL held, so every request
of the process waits for it: in a process serving the demo content (the model loaded) that is
about 570,000 objects and 350 ms, and an index of 100,000 sections adds about 680,000 and
another half second (2-core development machine). The collector starts one on its own once
enough objects have survived since the last, at whatever request happens to be running.

Nearly all of those objects live as long as the process (modules, the model) or as long as their
index generation (sections, tokens), and none of them form reference cycles: a generation that
is swapped out is freed by reference counting alone (``tests/test_heap.py`` checks it). So the
collector has nothing to find among them. ``settle()`` moves everything alive into the
permanent generation (``gc.freeze``) after start-up and after each new index generation; a full
collection then walks only what came later. ``KB_GC_FREEZE=false`` turns this off.
"""

from __future__ import annotations

import gc


def settle() -> None:
    """Freeze what is alive now: the collector skips it from now on."""
    gc.collect(1)  # the young generations' cycles of the moment are collected, not frozen
    gc.freeze()
