"""The sandbox's module layout: the app owns routing; endpoint modules stand on helpers.

``api_*`` modules hold handlers and may import only the modules below them (state,
params, responses, envelopes and the data modules), never the app nor another ``api_*``
module, also not under ``TYPE_CHECKING``; helpers never import an ``api_*`` module. So a
new endpoint is one new module plus one route line, and no import circle can form.
"""

from __future__ import annotations

import ast
from pathlib import Path

from crmframe.sandbox import app

SANDBOX = Path(app.__file__).resolve().parent


def _sandbox_imports(path: Path) -> set[str]:
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            if node.module == "crmframe.sandbox":
                out.update(a.name for a in node.names)
            elif node.module.startswith("crmframe.sandbox."):
                out.add(node.module.split(".")[2])
        elif isinstance(node, ast.Import):
            out.update(a.name.split(".")[2] for a in node.names
                       if a.name.startswith("crmframe.sandbox."))
    return out


def test_endpoint_modules_import_only_helpers() -> None:
    api = sorted(p for p in SANDBOX.glob("api_*.py"))
    assert len(api) >= 8
    for path in api:
        imported = _sandbox_imports(path)
        assert "app" not in imported, path.name
        assert not {m for m in imported if m.startswith("api_")}, path.name
        assert not {"server", "cli"} & imported, path.name


def test_helpers_never_import_endpoints_or_the_app() -> None:
    for path in SANDBOX.glob("*.py"):
        if path.stem.startswith("api_") or path.stem in ("app", "server", "cli", "__init__",
                                                          "__main__"):
            continue
        imported = _sandbox_imports(path)
        assert not {m for m in imported if m.startswith("api_")}, path.name
        assert not {"app", "server", "cli"} & imported, path.name


def test_every_route_has_a_handler_per_method_from_an_endpoint_module() -> None:
    seen = set()
    for route in app.ROUTES:
        assert route.endpoint not in seen
        seen.add(route.endpoint)
        assert route.handlers
        for method, handler in route.handlers.items():
            assert method in {"GET", "POST", "PUT", "DELETE", "PATCH"}
            assert handler.__module__.startswith("crmframe.sandbox.api_"), (route.path, method)
