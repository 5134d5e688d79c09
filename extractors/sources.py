"""The three sources by name: their HTTP client and streams."""

from __future__ import annotations

import importlib
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from extractors.base import ReadContext, Stream
from extractors.http import HttpClient, RetryPolicy
from extractors.rawstore import SOURCES, SourceStore
from extractors.sync import StreamResult, ordered, sync_stream
from platform_kpis.catalog import Catalog
from platform_kpis.config import Settings


def _module(source: str):
    if source not in SOURCES:
        raise ValueError(f"unknown source {source!r}; expected one of {SOURCES}")
    return importlib.import_module(f"extractors.{source}")


def make_client(source: str, settings: Settings, retry: RetryPolicy | None = None) -> HttpClient:
    return _module(source).make_client(settings, retry)


def streams(source: str) -> list[Stream]:
    return ordered(_module(source).streams())


@dataclass
class SourceRun:
    results: list[StreamResult]
    client: HttpClient


def sync_source(
    source: str,
    settings: Settings,
    catalog: Catalog,
    store: SourceStore,
    *,
    only: Iterable[str] | None = None,
    run_id: str | None = None,
    retry: RetryPolicy | None = None,
    history_start: datetime | None = None,
    client: HttpClient | None = None,
) -> SourceRun:
    """Sync a source's streams (parents first) into its store; stops at the first failure."""
    client = client or make_client(source, settings, retry)
    run_id = run_id or uuid.uuid4().hex
    wanted = set(only) if only is not None else None
    ctx = ReadContext(
        client=client, catalog=catalog, parents=store.latest, history_start=history_start
    )
    results = [
        sync_stream(s, store, ctx, run_id)
        for s in streams(source)
        if wanted is None or s.spec.name in wanted
    ]
    return SourceRun(results, client)
