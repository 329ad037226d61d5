"""Imports point downward only (docs/architecture.md), checked statically on every module."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "crmframe"
STDLIB = set(sys.stdlib_module_names)

# layer -> (crmframe modules it may import, third-party top-level packages it may import)
CORE_PURE = ({"crmframe.errors", "crmframe.core.fieldtypes", "crmframe.core.envelope"}, set())
RULES: dict[str, tuple[set[str], set[str]]] = {
    "errors": (set(), set()),
    "core-pure": CORE_PURE,
    "core": ({"crmframe.errors", "crmframe.core"}, {"pandas", "numpy", "pyarrow"}),
    "http": (
        {"crmframe.errors", "crmframe.core.envelope", "crmframe.core.fieldtypes", "crmframe.http"},
        {"requests", "urllib3", "vcr"},
    ),
    "facade": (
        {"crmframe.errors", "crmframe.core", "crmframe.http", "crmframe.facade",
         "crmframe.polling"},
        {"pandas", "numpy", "pyarrow", "requests", "tqdm"},
    ),
    "sandbox": ({"crmframe.core.fieldtypes", "crmframe.sandbox"}, {"werkzeug"}),
}


def layer_of(module: str) -> str | None:
    if module == "crmframe.errors":
        return "errors"
    if module in ("crmframe.core.fieldtypes", "crmframe.core.envelope"):
        return "core-pure"
    if module.startswith("crmframe.core"):
        return "core"
    if module.startswith("crmframe.http"):
        return "http"
    if module.startswith("crmframe.facade") or module == "crmframe.polling":
        return "facade"
    if module.startswith("crmframe.sandbox"):
        return "sandbox"
    return None  # front ends and the package root may import anything below them


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def runtime_imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: list[str] = []
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child):
                continue  # annotations only: no runtime dependency
            if isinstance(child, ast.Import):
                found.extend(alias.name for alias in child.names)
            elif isinstance(child, ast.ImportFrom):
                if child.level:
                    base = package.split(".")
                    base = base[: len(base) - (child.level - 1)]
                    found.append(".".join([*base, *([child.module] if child.module else [])]))
                elif child.module:
                    found.append(child.module)
            visit(child)

    visit(tree)
    return found


def allowed(importer_layer: str, imported: str) -> bool:
    top = imported.split(".")[0]
    if top in STDLIB or top == "__future__":
        return True
    internal, third_party = RULES[importer_layer]
    if top == "crmframe":
        return any(imported == ok or imported.startswith(ok + ".") for ok in internal)
    return top in third_party


# Front ends (layer None) may import anything below them, so only layered modules are checked.
MODULES = sorted(p for p in PACKAGE.rglob("*.py") if layer_of(module_name(p)) is not None)


@pytest.mark.parametrize("path", MODULES, ids=lambda p: module_name(p))
def test_imports_point_downward(path: Path) -> None:
    layer = layer_of(module_name(path))
    assert layer is not None
    bad = [name for name in runtime_imports(path) if not allowed(layer, name)]
    assert not bad, f"{module_name(path)} (layer {layer}) imports {bad}"


def test_rules_catch_a_violation(tmp_path: Path) -> None:
    # The checker itself must be able to fail: an http module importing pandas is refused.
    assert not allowed("http", "pandas")
    assert not allowed("sandbox", "crmframe.http.client")
    assert not allowed("core", "requests")
    assert allowed("core", "crmframe.core.metadata")
    assert allowed("sandbox", "crmframe.core.fieldtypes")
