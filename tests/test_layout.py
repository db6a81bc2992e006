"""The package reads top-down: no import cycle among rag's modules, and the answering stages
reach no engine, not even through the rag modules they import.

Every import statement counts, those inside functions and under `if TYPE_CHECKING:` too: a lazy
import still ties the two modules together for whoever reads or changes them.
"""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent / "rag"
ENGINES = {"faiss", "pymilvus", "milvus_lite", "xllamacpp", "torch", "transformers", "sentence_transformers",
           "onnxruntime", "ray"}
STAGES = "rag.answering"


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported(tree: ast.AST, name: str, is_package: bool) -> set[str]:
    """Every module name an import statement of the module names (absolute)."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                package = name.split(".") if is_package else name.split(".")[:-1]
                base = ".".join(package[:len(package) - node.level + 1])
                module = f"{base}.{node.module}" if node.module else base
            else:
                module = node.module
            found.add(module)
            found.update(f"{module}.{alias.name}" for alias in node.names)
    return found


def import_graph() -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    """(rag module -> the rag modules it imports, rag module -> the engine packages it imports)."""
    paths = {module_name(p): p for p in ROOT.rglob("*.py")}
    graph, engines = {}, {}
    for name, path in paths.items():
        names = imported(ast.parse(path.read_text(encoding="utf-8")), name, path.name == "__init__.py")
        graph[name] = {n for n in names if n in paths and n != name}
        engines[name] = {n.split(".")[0] for n in names} & ENGINES
    return graph, engines


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def reached(graph: dict[str, set[str]], start: str) -> set[str]:
    """The rag modules `start` imports, directly or through others (with their packages, which
    Python runs first)."""
    seen, todo = set(), [start]
    while todo:
        module = todo.pop()
        for other in graph[module] | parents(module, graph):
            if other not in seen:
                seen.add(other)
                todo.append(other)
    return seen


def parents(module: str, graph: dict[str, set[str]]) -> set[str]:
    """Its packages below rag itself (rag/__init__.py is the public API, above every module)."""
    parts = module.split(".")
    return {".".join(parts[:i]) for i in range(2, len(parts))} & set(graph)


def test_rag_has_no_import_cycle():
    graph, _ = import_graph()
    assert len(graph) > 30  # the walk found the package
    assert cycles(graph) == []


def test_the_answering_stages_reach_no_engine():
    graph, engines = import_graph()
    stages = sorted(m for m in graph if m == STAGES or m.startswith(STAGES + "."))
    assert "rag.answering.pipeline" in stages and "rag.answering.evidence" in stages
    for stage in stages:
        through = {m: sorted(engines[m]) for m in reached(graph, stage) | {stage} if engines[m]}
        assert through == {}, f"{stage} reaches engines through {through}"


def test_only_the_factories_name_an_engine_module():
    graph, engines = import_graph()
    factories = {"rag.stores.factory", "rag.models.factory"}
    engine_modules = {m for m in graph if engines[m]}
    assert engine_modules == {"rag.stores.folder", "rag.stores.milvus_collection", "rag.models.embedding",
                              "rag.models.generation", "rag.models.quantized", "rag.models.ray_embedding"}
    # An engine's side: its modules and those of its package built on them (rag.stores.milvus).
    side = set(engine_modules)
    while grown := {m for m in graph if m.startswith(("rag.stores.", "rag.models.")) and m not in side | factories
                    and graph[m] & side}:
        side |= grown
    for module, names in graph.items():
        if module not in side | factories:
            assert not names & side, f"{module} imports {sorted(names & side)}"


def test_the_checks_see_lazy_imports_and_cycles():
    tree = ast.parse("def f():\n    from rag.b import x\n    import faiss\n")
    assert {"rag.b", "faiss"} <= imported(tree, "rag.a", False)
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == [["a", "b", "c"]]
