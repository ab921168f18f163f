"""The tree is the architecture: who may import whom, checked on the source.

Imports under `if TYPE_CHECKING:` are annotations only and do not count; every other
import does, including those inside functions (a function-level import still ties the
two modules together, it only hides the cycle from Python).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA_LAYERS = ("loaders", "resolvers", "schema")
# What the data layers may use from the gateway package (issue 13).
DATA_LAYER_ALLOWED = (
    "gateway.core",
    "gateway.auth",
    "gateway.storage",
    "gateway.context",
    "gateway.live.hub",  # the live engine's subscribe API
)
# Lower layers that must never reach up into the HTTP edge (or the CLI / app factory).
EDGE = ("gateway.http", "gateway.cli", "gateway.app")
MAX_TOP_MODULES = 8


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def is_type_checking_block(node: ast.AST) -> bool:
    return isinstance(node, ast.If) and (
        (isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING")
        or (isinstance(node.test, ast.Attribute) and node.test.attr == "TYPE_CHECKING")
    )


def runtime_imports(path: Path) -> Iterator[str]:
    """Every module name imported outside `if TYPE_CHECKING:` blocks."""
    package = module_name(path).rsplit(".", 1)[0] if path.name != "__init__.py" else None

    def walk(node: ast.AST) -> Iterator[str]:
        for child in ast.iter_child_nodes(node):
            if is_type_checking_block(child):
                continue
            if isinstance(child, ast.Import):
                yield from (alias.name for alias in child.names)
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level and package:
                    base = ".".join(
                        [*package.split(".")[: len(package.split(".")) - child.level + 1], base]
                    )
                yield base
                # `from gateway.http import view` imports gateway.http.view
                yield from (f"{base}.{alias.name}" for alias in child.names)
            yield from walk(child)

    return walk(ast.parse(path.read_text(encoding="utf-8")))


def sources(*packages: str) -> list[Path]:
    return sorted(p for pkg in packages for p in (ROOT / pkg).rglob("*.py"))


def known_modules() -> set[str]:
    return {module_name(p) for p in sources("gateway", *DATA_LAYERS)}


def test_gateway_top_level_holds_few_modules() -> None:
    top = sorted(p.name for p in (ROOT / "gateway").glob("*.py"))
    assert len(top) <= MAX_TOP_MODULES, top


def test_data_layers_import_only_core_auth_storage_context_and_live_api() -> None:
    known = known_modules()
    offenders = [
        f"{module_name(path)} imports {name}"
        for path in sources(*DATA_LAYERS)
        for name in runtime_imports(path)
        if name.startswith("gateway")
        and name in known
        and name != "gateway"
        and not name.startswith(DATA_LAYER_ALLOWED)
    ]
    assert offenders == []


def test_lower_layers_never_import_the_edge() -> None:
    lower = (
        "gateway/core",
        "gateway/storage",
        "gateway/live",
        "gateway/protection",
        "gateway/auth",
    )
    offenders = [
        f"{module_name(path)} imports {name}"
        for path in sources(*lower, *DATA_LAYERS)
        for name in runtime_imports(path)
        if name.startswith(EDGE)
    ]
    assert offenders == []


def test_core_imports_nothing_else_from_the_project() -> None:
    offenders = [
        f"{module_name(path)} imports {name}"
        for path in sources("gateway/core")
        for name in runtime_imports(path)
        if name.split(".")[0] in {"gateway", *DATA_LAYERS} and not name.startswith("gateway.core")
    ]
    assert offenders == []


def test_no_import_cycle_among_gateway_modules() -> None:
    known = known_modules()
    graph: dict[str, set[str]] = {}
    for path in sources("gateway"):
        name = module_name(path)
        graph[name] = {
            target
            for target in runtime_imports(path)
            if target in known
            and target.startswith("gateway.")
            and target != name
            # a package's __init__ importing its own children is not a cycle with them
            and not target.startswith(f"{name}.")
        }
    cycles: list[list[str]] = []
    state: dict[str, int] = {}  # 1 = on the stack, 2 = done

    def visit(node: str, stack: list[str]) -> None:
        state[node] = 1
        stack.append(node)
        for target in sorted(graph.get(node, ())):
            if state.get(target) == 1:
                cycles.append([*stack[stack.index(target) :], target])
            elif target not in state:
                visit(target, stack)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node, [])
    assert cycles == []


def test_every_gateway_sub_package_says_what_lives_there() -> None:
    for init in sorted((ROOT / "gateway").glob("*/__init__.py")):
        doc = ast.get_docstring(ast.parse(init.read_text(encoding="utf-8")))
        assert doc and len(doc) > 80, f"{init.parent.name}/__init__.py needs a docstring"


def test_domain_modules_stay_below_the_package_threshold() -> None:
    # A domain module past ~600 lines becomes a package of sub-domain modules.
    too_long = [
        f"{path.relative_to(ROOT)}: {lines} lines"
        for path in sources(*DATA_LAYERS)
        if (lines := len(path.read_text(encoding="utf-8").splitlines())) > 650
    ]
    assert too_long == []
