"""The model knows no store: market.py imports nothing from counterweight.data (checked on its AST)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import counterweight.market as market_module
from counterweight.market import Market


def imported_modules(path: Path) -> set[str]:
    """Every module named by an import statement anywhere in the file (nested ones included)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative import: resolve against counterweight.market's package
                base = "counterweight" + ("." + base if base else "")
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def test_market_imports_nothing_from_data() -> None:
    mods = imported_modules(Path(market_module.__file__))
    offending = sorted(
        m for m in mods if m == "counterweight.data" or m.startswith("counterweight.data.")
    )
    assert offending == []
    assert "counterweight.errors" in mods  # the walk does see the module's real imports


def test_the_checker_sees_nested_imports(tmp_path: Path) -> None:
    f = tmp_path / "m.py"
    f.write_text("def g():\n    from counterweight.data.store import Store\n    return Store\n")
    assert "counterweight.data.store" in imported_modules(f)


def test_removed_from_store_points_to_its_replacement() -> None:
    with pytest.raises(AttributeError, match="market_from_store"):
        Market.from_store("x.duckdb")
