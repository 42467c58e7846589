"""The rooms' walls: the import graph of transforms/, expectations/, quality_page/ and flows/ (every import
statement, lazy ones inside functions too, read with ast) has no cycle and points one way, transforms →
expectations → quality_page → flows, and the pure packages import no orchestration or validation
framework (the quality page reaches GX only through expectations/).

A cycle means two modules cannot be read, tested or moved apart; a lazy import only hides it.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

from paths import ROOT
PACKAGES = ("transforms", "expectations", "quality_page", "flows")
# The layers in dependency order: a package may import only itself and those before it.
LAYERS = {"transforms": 0, "expectations": 1, "quality_page": 2, "flows": 3}
# Third-party frameworks a layer must not import (root module names).
FORBIDDEN = {
    "transforms": {"prefect", "prefect_dask", "great_expectations", "dask", "distributed"},
    "expectations": {"prefect", "prefect_dask", "dask", "distributed"},
    "quality_page": {"prefect", "prefect_dask", "great_expectations", "dask", "distributed"},
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


def test_reading_imports_no_parsing():
    """transforms/read turns bytes into lines: it must stay usable (and testable) without the parser
    or the engine, whose steps come after it."""
    bad = [f"{a} imports {b} (line {line})" for a, edges in graph().items() if a.startswith("transforms.read")
           for b, line in edges.items() if b.startswith("transforms.parse") or b == "transforms.engine"]
    assert not bad, "\n".join(bad)


def _dataset_scans(path: Path) -> list[int]:
    """The lines of a module that open a dataset with pyarrow.dataset's ``dataset(...)``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    aliases = {a.asname or a.name for n in ast.walk(tree) if isinstance(n, ast.Import)
               for a in n.names if a.name == "pyarrow.dataset"}
    direct = {a.asname or a.name for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)
              and n.module == "pyarrow.dataset" for a in n.names if a.name == "dataset"}
    return [n.lineno for n in ast.walk(tree) if isinstance(n, ast.Call) and (
        isinstance(n.func, ast.Attribute) and n.func.attr == "dataset" and isinstance(n.func.value, ast.Name)
        and n.func.value.id in aliases or isinstance(n.func, ast.Name) and n.func.id in direct)]


def test_one_reader_of_a_dataset_folder(tmp_path):
    """A staged or published dataset is read back by transforms/datasets.py alone (the run, `validate`,
    the views and the maintainers' page read the same columns, types and partitions)."""
    bad = [f"{name} line {line}" for name, path in modules().items() if name != "transforms.datasets"
           for line in _dataset_scans(path)]
    assert not bad, "read a dataset with transforms.datasets.read_table/load_frame: " + ", ".join(bad)
    assert _dataset_scans(ROOT / "transforms" / "datasets.py"), "the scan sees the reader"
    (tmp_path / "m.py").write_text("import pyarrow.dataset as pds\nfrom pyarrow.dataset import dataset\n"
                                   "pds.dataset('x')\ndataset('y')\npds.field('z')\n")
    assert _dataset_scans(tmp_path / "m.py") == [3, 4]


def _string_constants(path: Path) -> list[tuple[str, int]]:
    """The string literals of a module that are not docstrings."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docs = {id(n.body[0].value) for n in ast.walk(tree)
            if isinstance(n, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
            and n.body and isinstance(n.body[0], ast.Expr) and isinstance(n.body[0].value, ast.Constant)}
    return [(n.value, n.lineno) for n in ast.walk(tree)
            if isinstance(n, ast.Constant) and isinstance(n.value, str) and id(n) not in docs]


def test_parsing_code_holds_no_label_of_the_format_files():
    """A label, caption, anchor or heading word the parser looks for lives in transforms/formats/*.yaml
    (a third format is a new file, not a code change): no literal of the engine or transforms/parse
    holds one."""
    from transforms.formats import FORMATS
    words = set()
    for f in FORMATS.values():
        words |= {f.caption_stem, *f.end_anchors, *f.not_prose}
        for t in f.tables.values():
            words |= {*t.anchors, *t.header_words}
            for b in t.blocks:
                words |= {b.caption or "", *(leaf.label for leaf in (*b.rows, *b.columns))}
    words.discard("")
    files = [ROOT / "transforms" / "engine.py", *sorted((ROOT / "transforms" / "parse").glob("*.py"))]
    bad = [f"{p.relative_to(ROOT)}:{line}: {w!r} in {text[:60]!r}" for p in files
           for text, line in _string_constants(p) for w in sorted(words) if w in text]
    assert not bad, "\n".join(bad)
    assert _string_constants(ROOT / "transforms" / "parse" / "rows.py"), "the scan sees the literals"
