"""The rooms' walls: the import graph of transforms/, expectations/ and flows/ (every import statement,
lazy ones inside functions too, read with ast) has no cycle and points one way, transforms →
expectations → flows, and the pure packages import no orchestration or validation framework.

A cycle means two modules cannot be read, tested or moved apart; a lazy import only hides it.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

from paths import ROOT
PACKAGES = ("transforms", "expectations", "flows")
# The layers in dependency order: a package may import only itself and those before it.
LAYERS = {"transforms": 0, "expectations": 1, "flows": 2}
# Third-party frameworks a layer must not import (root module names).
FORBIDDEN = {
    "transforms": {"prefect", "prefect_dask", "great_expectations", "dask", "distributed"},
    "expectations": {"prefect", "prefect_dask", "dask", "distributed"},
}


def modules(root: Path = ROOT) -> dict[str, Path]:
    out = {}
    for pkg in PACKAGES:
        for f in sorted((root / pkg).rglob("*.py")):
            parts = list(f.relative_to(root).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            out[".".join(parts)] = f
    return out


def imports(name: str, path: Path) -> list[tuple[str, int]]:
    """Every module named by an import statement of the file (absolute, relative resolved), with its line."""
    base = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            out += [(a.name, node.lineno) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            mod = node.module or ""
            if node.level:
                mod = ".".join(base[:len(base) - (node.level - 1)] + ([mod] if mod else []))
            # `from pkg import name`: the submodule pkg.name if there is one, else pkg itself
            out += [(f"{mod}.{a.name}" if mod else a.name, node.lineno) for a in node.names]
    return out


def graph(root: Path = ROOT) -> dict[str, dict[str, int]]:
    """Project module → project modules it imports (→ the first line importing each)."""
    mods = modules(root)

    def owner(target: str) -> str | None:
        while target and target not in mods:
            target = target.rpartition(".")[0]
        return target or None

    g: dict[str, dict[str, int]] = {}
    for name, path in mods.items():
        edges: dict[str, int] = {}
        for target, line in imports(name, path):
            o = owner(target)
            if o and o != name:
                edges.setdefault(o, line)
        g[name] = edges
    return g


def cycles(g: dict[str, dict[str, int]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []
    for start in g:
        if start in index:
            continue
        work = [(start, iter(g[start]))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on.add(start)
        while work:
            v, it = work[-1]
            w = next(it, None)
            if w is not None:
                if w not in index:
                    index[w] = low[w] = len(index)
                    stack.append(w)
                    on.add(w)
                    work.append((w, iter(g.get(w, {}))))
                elif w in on:
                    low[v] = min(low[v], index[w])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[v])
            if low[v] == index[v]:
                comp = []
                while True:
                    w = stack.pop()
                    on.discard(w)
                    comp.append(w)
                    if w == v:
                        break
                if len(comp) > 1:
                    out.append(sorted(comp))
    return out


def test_no_import_cycle():
    g = graph()
    found = cycles(g)
    assert not found, "import cycles:\n" + "\n".join(
        " ↔ ".join(c) + ": " + "; ".join(f"{a}→{b} (line {g[a][b]})" for a in c for b in g[a] if b in c)
        for c in found)


def test_imports_point_from_transforms_to_expectations_to_flows():
    wrong = [f"{a} imports {b} (line {line})" for a, edges in graph().items() for b, line in edges.items()
             if LAYERS[b.split(".")[0]] > LAYERS[a.split(".")[0]]]
    assert not wrong, "\n".join(wrong)


def test_production_code_imports_no_fixture_generator():
    """synthetic/ (generated reports, their renderings, synthetic frames) serves tests and benchmarks:
    a production module that needs it would ship a fixture as a feature."""
    bad = [f"{name} imports {target} (line {line})" for name, path in modules().items()
           for target, line in imports(name, path) if target.split(".")[0] == "synthetic"]
    assert not bad, "\n".join(bad)


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_pure_packages_import_no_framework(package):
    bad = [f"{name} imports {target} (line {line})"
           for name, path in modules().items() if name.split(".")[0] == package
           for target, line in imports(name, path) if target.split(".")[0] in FORBIDDEN[package]]
    assert not bad, "\n".join(bad)


def test_the_checks_find_what_they_look_for(tmp_path):
    """The graph sees lazy and relative imports and `from pkg import submodule`, and a cycle is found."""
    for pkg in PACKAGES:
        (tmp_path / pkg).mkdir()
        (tmp_path / pkg / "__init__.py").write_text("")
    (tmp_path / "transforms" / "a.py").write_text("from transforms import b\n")
    (tmp_path / "transforms" / "b.py").write_text("def f():\n    from .c import g\n")
    (tmp_path / "transforms" / "c.py").write_text("import transforms.a\nimport prefect\n")
    (tmp_path / "flows" / "x.py").write_text("from transforms.a import f\n")
    (tmp_path / "flows" / "p").mkdir()          # a submodule taking a helper from its package's __init__
    (tmp_path / "flows" / "p" / "__init__.py").write_text("from flows.p.q import run\ndef helper(): pass\n")
    (tmp_path / "flows" / "p" / "q.py").write_text("def run():\n    from flows.p import helper\n")
    g = graph(tmp_path)
    assert g["transforms.b"] == {"transforms.c": 2} and g["flows.x"] == {"transforms.a": 1}
    assert sorted(cycles(g)) == [["flows.p", "flows.p.q"], ["transforms.a", "transforms.b", "transforms.c"]]
    assert ("prefect", 2) in imports("transforms.c", tmp_path / "transforms" / "c.py")
