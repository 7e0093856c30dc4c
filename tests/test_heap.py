"""The serving process freezes its long-lived objects out of the garbage collector's walks
(``kb_service.heap``). That is only safe while an index generation forms no reference cycles:
frozen, a cycle would never be collected, and every publish would leak the generation it
replaced."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest
from sqlmodel import Session

from indexer.embed import HashingEmbedder
from kb_service.config import Settings
from kb_service.db import make_engine
from kb_service.services.content_io import import_folder
from kb_service.services.indexing import IndexService
from kb_service.services.publishing import Actor
from tests.conftest import CONTENT


@pytest.fixture
def frozen_heap() -> Iterator[None]:
    """Tests run with KB_GC_FREEZE=false (conftest); these turn it on and clean up after."""
    gc.unfreeze()
    try:
        yield
    finally:
        gc.unfreeze()


def _service(settings: Settings) -> IndexService:
    engine = make_engine(settings)
    with Session(engine) as session:
        import_folder(session, CONTENT, actor=Actor("test"))
    return IndexService(settings.model_copy(update={"gc_freeze": True}), engine, HashingEmbedder())


@pytest.mark.usefixtures("frozen_heap")
def test_a_new_index_generation_is_frozen_and_the_one_it_replaced_is_freed(
    settings: Settings,
) -> None:
    service = _service(settings)
    service.start()
    first = service.current
    assert first is not None
    # the generation (its sections among it) and the rest of the process frozen
    assert gc.get_freeze_count() > len(first.sections)
    gone = weakref.ref(first)
    del first
    assert service.refresh(force=True)
    assert service.current is not None and gone() is None  # freed by reference counting alone


def test_without_kb_gc_freeze_nothing_is_frozen(settings: Settings) -> None:
    gc.unfreeze()
    service = IndexService(settings, make_engine(settings), HashingEmbedder())
    assert settings.gc_freeze is False  # conftest: the test process's own garbage stays collectable
    service.start()
    assert gc.get_freeze_count() == 0
