"""What the gate says to an operator: each failed expectation with its table, severity, rows
affected, example keys, and what to do. One text for the run's output, the check's metadata,
the failure summary and the webhook."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from expectations.gate import Failure, SuiteResult, suites

# The check metadata entries the gate writes: its operator text (read back by the command line
# and the run-failure sensor) and its warn-level findings, one line each (kept by history).
REPORT_KEY = "report"
WARNINGS_KEY = "warnings"


@dataclass(frozen=True)
class Finding:
    """One asset check's outcome; ``text`` is the gate's operator report (empty for checks
    that are not expectation suites)."""

    passed: bool
    blocking: bool
    text: str = ""


def gate_text(findings: list[Finding]) -> str:
    """Every failed expectation's report, blocking ones first."""
    failed = sorted((f for f in findings if not f.passed and f.text), key=lambda f: not f.blocking)
    return "\n".join(f.text for f in failed)


# What to do about an error, by kind of expectation (a "tune" hint in the suite comes first).
_FIX = {
    "expect_table_columns_to_match_set": "the mart lost contract columns: fix its dbt model",
    "expect_column_max_to_be_between": (
        "a timestamp lies in the future: check the source's clock and time zone for these rows"
    ),
}
_FIX_DEFAULT = (
    "fix these records in the source (or the dbt model that computes the column), then rerun"
)


def _example(example: dict[str, Any], keys: list[str]) -> str:
    shown = {k: v for k, v in example.items() if k in keys} or example
    return ", ".join(f"{k}={v}" for k, v in shown.items())


def _finding(failure: Failure, example: dict[str, Any]) -> str | None:
    template = failure.meta.get("finding")
    if not template:
        return None
    try:
        return template.format(**example)
    except (KeyError, ValueError, TypeError):
        return None


def failure_lines(failure: Failure, keys: list[str] | None = None) -> list[str]:
    keys = keys or []
    label = "ERROR, blocks publication" if failure.blocking else "WARN, published"
    what = failure.expectation + (f"({failure.column})" if failure.column else "")
    if failure.unexpected_count:
        of = f" of {failure.element_count}" if failure.element_count else ""
        count = f"{failure.unexpected_count}{of} rows"
    else:
        count = f"observed {failure.observed!r}"
    lines = [f"[{label}] {failure.table} / {failure.suite}: {what}: {count}"]
    findings = [_finding(failure, e) for e in failure.examples]
    if any(findings):
        lines += [f"    {text}" for text in findings if text]
    elif failure.examples:
        shown = "; ".join(_example(e, keys) for e in failure.examples)
        lines.append(f"    e.g. {shown}")
    tune = failure.meta.get("tune")
    if tune:
        todo = (
            f"if this is right for your organisation, tune {tune} in the catalog; "
            "otherwise re-sync or fix the source"
        )
    else:
        todo = _FIX.get(failure.expectation, _FIX_DEFAULT)
    lines.append(f"    what to do: {todo}")
    return lines


def report(results: Iterable[SuiteResult], keys_of: dict[str, list[str]] | None = None) -> str:
    """Every failure of ``results``, blocking ones first; empty when all passed."""
    keys_of = keys_of or {name: doc["meta"].get("keys", []) for name, doc in suites().items()}
    failures = sorted(
        (f for r in results for f in r.failures), key=lambda f: (not f.blocking, f.table)
    )
    return "\n".join(line for f in failures for line in failure_lines(f, keys_of.get(f.suite)))


def warning_lines(results: Iterable[SuiteResult]) -> list[str]:
    """One line per warn-level finding (table, suite, expectation, rows affected; no example
    keys): what a publication records as its warnings."""
    return [failure_lines(f)[0] for r in results for f in r.failures if not f.blocking]
