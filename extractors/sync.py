"""Run streams into a raw store, page by page, and record what each run did."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from extractors.base import ReadContext, Stream
from extractors.rawstore import SourceStore, SyncStatus
from platform_kpis.redact import logger, redact

log = logger(__name__)


@dataclass
class StreamResult:
    source: str
    stream: str
    status: str
    records: int
    appended: int
    requests: int
    retries: int
    throttled_seconds: float
    cursor: str | None
    error: str | None = None


def sync_stream(
    stream: Stream,
    store: SourceStore,
    ctx: ReadContext,
    run_id: str,
    *,
    on_page: Callable[[int], None] | None = None,
) -> StreamResult:
    """Read a stream from its committed state; each page and its state commit together.
    On failure the status row records the error and the exception propagates: every page
    committed before it stays, and the next run resumes from there."""
    spec = stream.spec
    started = datetime.now(UTC)
    before = ctx.client.stats.snapshot()
    state = store.state(spec.name)
    records = appended = 0
    error: BaseException | None = None
    try:
        for page in stream.read(state, ctx):
            appended += store.commit(spec.name, page, run_id)
            records += page.count
            state = page.state
            if on_page:
                on_page(records)
    except BaseException as exc:  # noqa: BLE001 - recorded, then re-raised
        error = exc
    delta = ctx.client.stats.since(before)
    result = StreamResult(
        spec.source,
        spec.name,
        "failed" if error else "success",
        records,
        appended,
        delta.requests,
        delta.retries,
        round(delta.throttled_seconds, 3),
        stream.cursor_of(state),
        None if error is None else redact(f"{type(error).__name__}: {error}"),
    )
    store.write_status(
        SyncStatus(
            spec.source,
            spec.name,
            result.status,
            started,
            None if error else datetime.now(UTC),
            records,
            delta.requests,
            delta.retries,
            result.throttled_seconds,
            result.cursor,
            result.error,
            # The server's clock at the end of the sync (its last Date header); the host's
            # clock may disagree with it. None keeps the as-of time of the last success.
            None if error else ctx.client.server_time,
        )
    )
    if error is not None:
        raise error
    log.info(
        "%s/%s: %d records (%d new versions), %d requests",
        spec.source,
        spec.name,
        records,
        appended,
        delta.requests,
    )
    return result


def ordered(streams: Iterable[Stream]) -> list[Stream]:
    """Parents before children (a child reads its parent's raw table)."""
    pending = list(streams)
    done: set[str] = set()
    out: list[Stream] = []
    names = {s.spec.name for s in pending}
    while pending:
        ready = [s for s in pending if all(p in done or p not in names for p in s.spec.parents)]
        if not ready:
            raise ValueError("streams have a dependency cycle")
        for s in ready:
            out.append(s)
            done.add(s.spec.name)
            pending.remove(s)
    return out
