"""The repository carries its own reference: every published column is documented in
docs/kpis.md under its table's heading, links between the docs resolve, and no tracked file
points at a folder outside the repository or at a path of one machine."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
import yaml

from expectations.history import PUBLISHED_COLUMNS
from orchestration.publish_assets import MARTS

REPO_ROOT = Path(__file__).resolve().parent.parent
KPIS_DOC = REPO_ROOT / "docs" / "kpis.md"
MODELS_DIR = REPO_ROOT / "dbt_project" / "models"

# Published tables the publish step writes itself (no dbt model), with their columns.
NON_DBT_TABLES = {"publications": PUBLISHED_COLUMNS}
# Decision-layer (v2) marts documented ahead of their dbt models: their columns are checked
# as soon as a model YAML declares them, whether or not they are in MARTS yet.
V2_DBT_TABLES = ("kpi_support_themes_monthly", "mart_platform_bets")

# The reference folder beside the repository, as a path: "shared/" not preceded by a letter
# ("../shared/spec", "/x/shared/tools"), so prose such as "the shared range" does not count.
OUTSIDE_REFERENCE = re.compile(r"(?<![A-Za-z])shared/")
# An absolute path of a machine in quotes: /work/, /root/ or /tmp/ right after a quote.
MACHINE_PATH = re.compile(r"[\"'`]/(?:work|root|tmp)/")
# Folders allowed to name the reference folder (the optional contract check lives there).
MAY_NAME_REFERENCE = ("tests/", ".ci/")


def dbt_model_columns() -> dict[str, list[str]]:
    """Every dbt model declared in a YAML file under dbt_project/models, with its columns."""
    models: dict[str, list[str]] = {}
    for path in sorted(MODELS_DIR.rglob("*.yml")):
        doc = yaml.safe_load(path.read_text()) or {}
        for model in doc.get("models") or []:
            models[model["name"]] = [c["name"] for c in model.get("columns") or []]
    return models


def published_columns() -> dict[str, list[str]]:
    """Each published table's columns: dbt YAML for models, NON_DBT_TABLES for the rest."""
    models = dbt_model_columns()
    tables = [*MARTS, *(t for t in V2_DBT_TABLES if t in models and t not in MARTS)]
    out: dict[str, list[str]] = {}
    for table in tables:
        if table in models:
            out[table] = models[table]
        elif table in NON_DBT_TABLES:
            out[table] = list(NON_DBT_TABLES[table])
        else:
            out[table] = []  # published with no declared columns: the test below says so
    for table, columns in NON_DBT_TABLES.items():
        out.setdefault(table, list(columns))
    return out


def doc_section(text: str, table: str) -> str | None:
    """The text under the heading `` `table` `` up to the next heading of its level or above."""
    lines = text.splitlines()
    heading = re.compile(rf"^(#+)\s+`{re.escape(table)}`\s*$")
    for i, line in enumerate(lines):
        match = heading.match(line)
        if not match:
            continue
        level = len(match.group(1))
        body = []
        for following in lines[i + 1 :]:
            hashes = re.match(r"^(#+)\s", following)
            if hashes and len(hashes.group(1)) <= level:
                break
            body.append(following)
        return "\n".join(body)
    return None


PUBLISHED = published_columns()


@pytest.mark.parametrize("table", sorted(PUBLISHED))
def test_every_published_column_is_documented_under_its_table(table):
    columns = PUBLISHED[table]
    assert columns, f"{table} is published but no dbt YAML or NON_DBT_TABLES lists its columns"
    section = doc_section(KPIS_DOC.read_text(), table)
    assert section is not None, f"docs/kpis.md has no heading `{table}` for a published mart"
    missing = [f"{table}.{c}" for c in columns if f"`{c}`" not in section]
    assert not missing, f"docs/kpis.md does not document: {', '.join(missing)}"


def test_the_v2_marts_are_documented_ahead_of_their_models():
    text = KPIS_DOC.read_text()
    for table in V2_DBT_TABLES:
        assert doc_section(text, table) is not None, f"docs/kpis.md has no heading `{table}`"


def test_doc_section_stops_at_the_next_table():
    text = "## Marts\n### `a`\n- `x` one\n#### detail\n- `y`\n### `b`\n- `z`\n"
    assert "`y`" in doc_section(text, "a")
    assert "`z`" not in doc_section(text, "a")
    assert doc_section(text, "c") is None


def tracked_files() -> list[str]:
    result = subprocess.run(
        ["git", "ls-files", "-z"], cwd=REPO_ROOT, capture_output=True, check=False
    )
    if result.returncode != 0:
        pytest.skip(f"not a git checkout: {result.stderr.decode().strip()}")
    return [p for p in result.stdout.decode().split("\0") if p]


def offending_lines(paths: list[str], pattern: re.Pattern[str]) -> list[str]:
    found = []
    for rel in paths:
        path = REPO_ROOT / rel
        if not path.is_file():
            continue  # deleted in the working tree, not yet in the index
        text = path.read_bytes().decode("utf-8", errors="replace")
        for number, line in enumerate(text.splitlines(), 1):
            if pattern.search(line):
                found.append(f"{rel}:{number}: {line.strip()[:120]}")
    return found


def test_no_tracked_file_points_at_the_reference_folder_outside_the_repository():
    paths = [p for p in tracked_files() if not p.startswith(MAY_NAME_REFERENCE)]
    found = offending_lines(paths, OUTSIDE_REFERENCE)
    assert not found, "link to docs/ instead:\n" + "\n".join(found)


def test_no_tracked_file_holds_an_absolute_path_of_a_machine():
    found = offending_lines(tracked_files(), MACHINE_PATH)
    assert not found, "\n".join(found)


def test_path_patterns_tell_paths_from_prose():
    assert OUTSIDE_REFERENCE.search("see ../shared/spec/kpis.md")
    assert OUTSIDE_REFERENCE.search("`shared/tools/check_contract.py`")
    assert not OUTSIDE_REFERENCE.search("the shared monthly range")
    assert not OUTSIDE_REFERENCE.search("unshared/x")
    assert MACHINE_PATH.search('open("/' + 'tmp/x.json")')  # split: this file is tracked too
    assert not MACHINE_PATH.search("a temp dir such as tmp/ or /tmp in prose")


def test_relative_links_in_the_docs_resolve():
    link = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")
    broken = []
    for doc in [REPO_ROOT / "README.md", *sorted((REPO_ROOT / "docs").glob("*.md"))]:
        for target in link.findall(doc.read_text()):
            if "://" in target or target.startswith("mailto:"):
                continue
            if not (doc.parent / target).exists():
                broken.append(f"{doc.relative_to(REPO_ROOT)} -> {target}")
    assert not broken, "\n".join(broken)
