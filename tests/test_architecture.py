"""The import graph has no cycle and no two packages import each other, type-only imports counted (a type-only import
is still an arrow); the package keeps at most 14 top-level modules.

import-linter (run in CI as ``lint-imports``) checks the layer contracts in pyproject.toml; this walks the
same graph (grimp, which import-linter builds on) and fails on any cycle between modules of hardneg, and on any pair
of packages (a top-level module counts as one) with arrows both ways.
"""

from __future__ import annotations

from pathlib import Path

import grimp

import hardneg


def strongly_connected(graph: dict[str, list[str]]) -> list[list[str]]:
    """The components of more than one module (Tarjan's algorithm, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(graph[root]))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, edges = work[-1]
            for nxt in edges:
                if nxt not in index:
                    index[nxt] = low[nxt] = len(index)
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, iter(graph[nxt])))
                    break
                if nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        found.append(sorted(component))
    return found


def test_strongly_connected_finds_a_cycle_and_only_cycles():
    graph = {"a": ["b"], "b": ["c"], "c": ["a", "d"], "d": [], "e": ["d"]}
    assert strongly_connected(graph) == [["a", "b", "c"]]
    assert strongly_connected({"a": ["b"], "b": []}) == []


def test_no_import_cycles_type_only_imports_counted():
    graph = grimp.build_graph("hardneg", exclude_type_checking_imports=False, cache_dir=None)
    edges = {m: sorted(graph.find_modules_directly_imported_by(m)) for m in sorted(graph.modules)}
    assert strongly_connected(edges) == []


def package_of(module: str) -> str:
    """The package (or top-level module) of hardneg that ``module`` belongs to: ``hardneg.mining.run`` -> ``mining``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def two_way_pairs(graph: dict[str, list[str]]) -> list[tuple[str, str]]:
    """The pairs of packages that import each other, each pair once (in name order)."""
    arrows = {(package_of(m), package_of(n)) for m, targets in graph.items() for n in targets}
    return sorted((a, b) for a, b in arrows if a < b and (b, a) in arrows)


def test_two_way_pairs_finds_packages_importing_each_other():
    graph = {"hardneg.a.x": ["hardneg.b.y"], "hardneg.b.y": [], "hardneg.b.z": ["hardneg.a.w"], "hardneg.a.w": []}
    assert two_way_pairs(graph) == [("a", "b")]
    assert two_way_pairs({"hardneg.a.x": ["hardneg.a.y", "hardneg.b"], "hardneg.a.y": [], "hardneg.b": []}) == []


def test_no_two_packages_import_each_other_type_only_imports_counted():
    graph = grimp.build_graph("hardneg", exclude_type_checking_imports=False, cache_dir=None)
    edges = {m: sorted(graph.find_modules_directly_imported_by(m)) for m in sorted(graph.modules)}
    assert two_way_pairs(edges) == []


def test_at_most_fourteen_top_level_modules():
    """New code goes into the package of its stage or driver; a top-level module is a rare, shared idea."""
    root = Path(hardneg.__file__).parent
    modules = sorted(p.name for p in root.glob("*.py") if p.name not in ("__init__.py", "__main__.py"))
    assert len(modules) <= 14, modules
