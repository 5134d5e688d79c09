"""Layers import downward only: the base packages never reach up into the code location or the
command line, and the extractors and the simulator know nothing of each other (the extractors
must work against the real APIs; the simulator must not borrow the code it is there to test)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# package -> top-level packages it must never import
FORBIDDEN = {
    "platform_kpis": {"orchestration", "commandline", "reporting", "simulator", "extractors"},
    "extractors": {"orchestration", "commandline", "reporting", "simulator", "dagster"},
    "expectations": {"orchestration", "commandline", "reporting", "simulator"},
    "reporting": {"orchestration", "commandline", "simulator"},
    "simulator": {"extractors", "orchestration", "commandline", "reporting", "expectations"},
    "orchestration": {"commandline", "simulator"},
}


def imported_packages(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_layers_import_downward_only(package):
    wrong = [
        f"{path.relative_to(ROOT)} imports {name}"
        for path in sorted((ROOT / package).rglob("*.py"))
        for name in sorted(imported_packages(path) & FORBIDDEN[package])
    ]
    assert not wrong, "\n".join(wrong)


def test_the_rule_sees_a_forbidden_import(tmp_path):
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from orchestration.definitions import defs\n")
    assert "orchestration" in imported_packages(module)
