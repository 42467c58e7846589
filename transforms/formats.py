"""The national formats, loaded from transforms/formats/*.yaml and checked at import.

A format file is the only place a format is described; the engine, the generator, the quality
gate and the data dictionary read these objects. Adding a format = adding a YAML file.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from transforms import yamlfile
from transforms.labels import match_key, stem_key
from transforms.measures import SUMMARY_MEASURES

# The shipped formats; NIANBAO_FORMATS_DIR points the engine at another set (e.g. a draft third format).
SHIPPED_FORMATS = Path(__file__).with_name("formats")
FORMAT_DIR = Path(os.environ.get("NIANBAO_FORMATS_DIR") or SHIPPED_FORMATS)
SEP = " > "
VALUE_KINDS = ("count", "delta", "amount")


class FormatError(ValueError):
    """A format file is inconsistent; raised at import so a bad file never reaches a run."""


@dataclass(frozen=True)
class Leaf:
    """A data row or column: its canonical path and what the engine may see printed for it."""

    path: str
    label: str
    code: str
    parent_path: str = ""
    parent_code: str = ""
    aliases: tuple[str, ...] = ()
    legacy_aliases: tuple[str, ...] = ()
    kind: str = "count"
    unit: str | None = "count"
    ancestors: tuple[str, ...] = ()  # labels of the group nodes above the leaf
    # columns: largest plausible magnitude per unit ((unit, bound), …; unit None = any unit), from
    # the format's value_bounds for the column's kind
    bounds: tuple[tuple[str | None, float], ...] = ()
    # declared in the format file's tree: a total or subtotal of other cells (summing it with them
    # counts them twice); depth in the tree (1 = top, a captioned block's rows 2); the harmonised
    # code that makes formats comparable (its own code unless the format file says otherwise)
    is_total: bool = False
    level: int = 1
    harmonised: str = ""

    def max_abs(self, unit: str | None) -> float:
        """Largest plausible magnitude of a value of this column printed in `unit`."""
        for u, bound in self.bounds:
            if u is None or u == unit:
                return bound
        return max((b for _, b in self.bounds), default=float("inf"))

    def keys(self) -> dict[str, str]:
        """match key → how it matched ('' exact, 'legacy_label' for a legacy wording)."""
        out = {match_key(a): "" for a in (self.label, *self.aliases) if a}
        for a in self.legacy_aliases:
            out.setdefault(match_key(a), "legacy_label")
        return out


@dataclass(frozen=True)
class Node:
    """A node of a block's row or column tree, data-bearing (leaf) or a group label: what the
    ``codes`` dataset lists (transforms/codes.py)."""

    axis: str           # "row" or "column"
    path: str
    label: str
    code: str
    parent_path: str
    parent_code: str
    level: int
    is_total: bool
    is_leaf: bool
    harmonised: str


@dataclass(frozen=True)
class Block:
    caption: str | None
    code: str
    rows: tuple[Leaf, ...]
    columns: tuple[Leaf, ...]
    group_labels: tuple[str, ...]  # row group nodes (label only, no data)
    nodes: tuple[Node, ...] = ()   # every labelled node of the row and column trees, caption included

    @property
    def caption_key(self) -> str:
        return match_key(self.caption) if self.caption else ""


@dataclass(frozen=True)
class Identity:
    id: str
    number: int
    description: str
    table: str
    for_each: str  # "row" or "column"
    lhs: tuple[str, ...]
    rhs: tuple[str, ...]

    def instances(self, fmt: "Format") -> list[tuple[str, list[tuple[str, str]], list[tuple[str, str]]]]:
        """(key, lhs addresses, rhs addresses) per instance in ``fmt``: every column of the table (for_each
        column) or every row (for_each row), as the checks evaluate it (transforms/checks/reconcile.py)."""
        t = fmt.tables[self.table]
        if self.for_each == "column":
            return [(c, [(p, c) for p in self.lhs], [(p, c) for p in self.rhs]) for c in t.column_paths]
        return [(r, [(r, p) for p in self.lhs], [(r, p) for p in self.rhs]) for r in t.row_paths]


@dataclass(frozen=True)
class CrossYear:
    """A check between a body's report of year N (this format) and its report of year N−1:
    Σ current = Σ previous (last year) + Σ plus − Σ minus (this year), per column or per row.
    ``previous`` maps each format last year's table may be in to its corresponding paths: a format
    not listed has no corresponding quantity, and such a pair is not checked."""

    id: str
    number: int
    description: str
    table: str
    for_each: str
    current: tuple[str, ...]
    previous: dict[str, tuple[str, ...]]
    plus: tuple[str, ...] = ()
    minus: tuple[str, ...] = ()

    def instances(self, this: "Format", last: "Format") -> list[tuple[str, list, list, list, list]]:
        """(key, current, plus, minus, previous addresses) per instance: the columns (for_each column) or
        rows (for_each row) where every address exists in this format, and last year's in ``last``."""
        if last.name not in self.previous:
            return []
        here, there = set(this.cell_addresses(self.table)), set(last.cell_addresses(self.table))
        t = this.tables[self.table]
        keys = t.column_paths if self.for_each == "column" else t.row_paths
        at = (lambda k, p: (p, k)) if self.for_each == "column" else (lambda k, p: (k, p))
        out = []
        for k in keys:
            cur, plus, minus = ([at(k, p) for p in ps] for ps in (self.current, self.plus, self.minus))
            prev = [at(k, p) for p in self.previous[last.name]]
            if set(cur + plus + minus) <= here and set(prev) <= there:
                out.append((k, cur, plus, minus, prev))
        return out


@dataclass(frozen=True)
class Hierarchy:
    """Parts never above their total (counts are non-negative): ``pairs`` of (total, part) cell
    addresses, derived from the identities named in ``of`` (one total on the lhs, its parts on the
    rhs) or from ``parent``/``children`` paths declared per row or column."""

    id: str
    description: str
    table: str
    pairs: tuple[tuple[tuple[str, str], tuple[str, str]], ...]


@dataclass(frozen=True)
class Table:
    name: str
    section: str
    dimensions: dict
    blocks: tuple[Block, ...]
    heading: str = ""  # regex after the section numeral, e.g. "[^\\n]{0,12}主动公开"
    anchors: tuple[str, ...] = ()  # labels that start the table when its heading is missing
    header_words: tuple[str, ...] = ()  # printed header text that carries no address

    def cells(self) -> list[tuple[Block, Leaf, Leaf]]:
        return [(b, r, c) for b in self.blocks for r in b.rows for c in b.columns]

    @property
    def row_paths(self) -> tuple[str, ...]:
        return tuple(r.path for b in self.blocks for r in b.rows)

    @property
    def column_paths(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(c.path for b in self.blocks for c in b.columns))


@dataclass(frozen=True)
class Format:
    name: str
    notice: str
    tables: dict[str, Table]
    identities: tuple[Identity, ...]
    cross_year: tuple[CrossYear, ...]
    end_heading: str = ""
    hierarchy: tuple[Hierarchy, ...] = ()
    source: Path = field(compare=False, default=Path())
    # report_summary measure → (table, cell addresses summed): `summary:` of the format file
    summary: dict = field(default_factory=dict)
    end_section: str = ""                 # the numeral of the section that ends the tables (五)
    end_anchors: tuple[str, ...] = ()     # words of that heading found without its numeral
    caption_stem: str = ""                # a caption printed without its item number (第二十条)
    not_prose: tuple[str, ...] = ()       # words of labels written like sentences

    def cell_addresses(self, table: str) -> list[tuple[str, str]]:
        return [(r.path, c.path) for _, r, c in self.tables[table].cells()]


def _leaves(nodes, kind_default: bool, prefix=(), prefix_codes=(), groups=None, tree=None) -> list[Leaf]:
    """The data-bearing leaves of a row or column tree; ``tree`` (a list) collects every labelled
    node as (path labels, parent codes, node) for the codes dataset."""
    out = []
    for node in nodes:
        label = node["label"]
        path = prefix + ((label,) if label != "" or not prefix else ())
        if tree is not None and label != "":
            tree.append((path, prefix_codes, node))
        if node.get("children"):
            if groups is not None:
                groups.append(label)
            out += _leaves(node["children"], kind_default, path, prefix_codes + (node["code"],), groups, tree)
            continue
        kind = node.get("kind", "count")
        if kind not in VALUE_KINDS:
            raise FormatError(f"{label}: kind {kind!r} not in {VALUE_KINDS}")
        unit = node["unit"] if "unit" in node else ("count" if kind in ("count", "delta") else None)
        out.append(Leaf(
            path=SEP.join(path) if label != "" else "",
            label=label,
            code=node["code"],
            parent_path=SEP.join(prefix),
            parent_code=prefix_codes[-1] if prefix_codes else "",
            aliases=tuple(node.get("aliases", ())),
            legacy_aliases=tuple(node.get("legacy_aliases", ())),
            kind=kind,
            unit=unit,
            ancestors=prefix,
            is_total=_flag(node, "total"),
            level=len(path) if label != "" else 0,
            harmonised=str(node.get("harmonised") or node["code"]),
        ))
    return out


def cell_place(row: Leaf, col: Leaf) -> dict:
    """is_total, parent_code and level of the cell at (row, col): its row's node, or its column's where
    the table's one data row has no label (table 四); a total when its row or its column is one."""
    node = row if row.label != "" else col
    return {"is_total": row.is_total or col.is_total, "parent_code": node.parent_code, "level": node.level}


def _flag(node: dict, key: str) -> bool:
    v = node.get(key, False)
    if not isinstance(v, bool):
        raise FormatError(f"{node.get('label')!r}: {key} must be true or false, not {v!r}")
    return v


def _nodes(axis: str, tree: list, caption: str | None, caption_code: str) -> list[Node]:
    """Node records of one tree; a captioned block's rows hang under its caption node."""
    out = []
    top = (caption,) if caption else ()
    if caption and axis == "row":
        out.append(Node(axis, caption, caption, caption_code, "", "", 1, False, False, caption_code))
    for path, parent_codes, node in tree:
        full = (top + path) if axis == "row" else path
        codes = ((caption_code,) if caption and axis == "row" else ()) + parent_codes
        out.append(Node(axis, SEP.join(full), node["label"], node["code"], SEP.join(full[:-1]),
                        codes[-1] if codes else "", len(full), _flag(node, "total"), not node.get("children"),
                        str(node.get("harmonised") or node["code"])))
    return out


def _bounds(value_bounds: dict, kind: str, path: Path) -> tuple[tuple[str | None, float], ...]:
    """value_bounds[kind] (one number, or one per unit) → Leaf.bounds."""
    spec = value_bounds[kind]
    pairs = list(spec.items()) if isinstance(spec, dict) else [(None, spec)]
    try:
        out = tuple((u, float(b)) for u, b in pairs)
    except (TypeError, ValueError):
        raise FormatError(f"{path.name}: value_bounds.{kind}: bounds must be numbers") from None
    if not out or any(not b >= 10 for _, b in out):  # every one-digit number is plausible (the engine's fast path)
        raise FormatError(f"{path.name}: value_bounds.{kind}: bounds must be numbers of at least 10")
    return out


# --------------------------------------------------------------------------- the format files
# Every key a format file may hold, per kind of mapping: an unknown key (a typo, a key of another
# level) is refused at load instead of being silently ignored.
_KEYS = {
    "format": {"format", "notice", "extends", "end_heading", "end_section", "end_anchors", "caption_stem",
               "not_prose", "value_bounds", "tables", "summary", "identities", "hierarchy", "cross_year"},
    "table": {"section", "locate", "header_words", "dimensions", "blocks"},
    "locate": {"heading", "anchors"},
    "block": {"caption", "code", "columns", "rows"},
    "node": {"label", "code", "children", "kind", "unit", "aliases", "legacy_aliases", "total", "harmonised"},
    "identity": {"id", "number", "description", "table", "for_each", "lhs", "rhs", "sums"},
    "hierarchy": {"id", "description", "table", "of", "parent", "children", "for_each"},
    "cross_year": {"id", "number", "description", "table", "for_each", "current", "previous", "plus", "minus"},
    "measure": {"table", "rows", "columns"},
}


def _read(path: Path) -> dict:
    try:
        doc = yamlfile.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as e:
        raise FormatError(f"{path.name}: not valid YAML: {e}") from None
    if not isinstance(doc, dict):
        raise FormatError(f"{path.name}: a format file is a mapping")
    return doc


def _resolved(name: str, docs: dict[str, tuple[Path, dict]], chain: tuple[str, ...]) -> dict:
    """The format's document with its ``extends:`` chain applied (the base's document, then this
    file's differences: see _merge)."""
    path, doc = docs[name]
    if "extends" not in doc:
        return doc
    base = str(doc["extends"])
    if base == name or base in chain:
        raise FormatError(f"{path.name}: extends {base!r} makes a cycle ({' → '.join((*chain, name, base))})")
    if base not in docs:
        raise FormatError(f"{path.name}: extends {base!r}, which no format file of {path.parent} defines")
    return _merge(_resolved(base, docs, (*chain, name)), {k: v for k, v in doc.items() if k != "extends"},
                  path.name)


def _merge(base, over, where: str):
    """``over`` (a derived file's value) applied to ``base`` (its base format's):
    * mappings merge key by key; a key whose value is ``{drop: true}`` is removed;
    * lists of mappings merge item by item, matched by ``id`` or else ``code``: a matched item is
      merged, ``{code: x, drop: true}`` removes x, a new item goes after the item written before it
      in the derived list (at the end when it comes first);
    * ``{replace: [...]}`` replaces a list whole; any other value replaces the base's."""
    if isinstance(over, dict) and set(over) == {"replace"}:
        return over["replace"]
    if isinstance(base, dict) and isinstance(over, dict):
        merged = dict(base)
        for k, v in over.items():
            if v == {"drop": True}:
                if k not in merged:
                    raise FormatError(f"{where}.{k}: drop of a key the base does not have")
                del merged[k]
            else:
                merged[k] = _merge(base[k], v, f"{where}.{k}") if k in base else v
        return merged
    if isinstance(base, list) and isinstance(over, list) and over and all(isinstance(i, dict) for i in over + base):
        key = "id" if all("id" in i for i in base + over) else "code"
        if not all(key in i for i in base + over):
            raise FormatError(f"{where}: list items to merge need an `id` or a `code` each")
        out = list(base)
        keys = [i[key] for i in out]
        shared = next((k for n, k in enumerate(keys) if k in keys[:n]), None)
        if shared is not None:
            raise FormatError(f"{where}: two items of the base list share {key} {shared!r}")
        anchor = None
        for item in over:
            k = item[key]
            pos = next((n for n, i in enumerate(out) if i is not None and i[key] == k), None)
            if item.get("drop") is True:
                if pos is None or set(item) != {key, "drop"}:
                    raise FormatError(f"{where}: drop of {k!r}: no such item, or more keys than {key} and drop")
                out[pos] = None
                continue
            if pos is not None:
                out[pos] = _merge(out[pos], item, f"{where}[{k}]")
                anchor = pos
            else:
                at = len(out) if anchor is None else anchor + 1
                out.insert(at, item)
                anchor = at
        return [i for i in out if i is not None]
    return over


def _check_keys(doc: dict, where: str) -> None:
    """Refuse a key that no level of a format file knows (see _KEYS)."""
    def check(m, kind: str, at: str) -> None:
        if not isinstance(m, dict):
            raise FormatError(f"{where}: {at}: a mapping is expected, not {type(m).__name__}")
        unknown = sorted(set(map(str, m)) - _KEYS[kind])
        if unknown:
            raise FormatError(f"{where}: {at}: unknown key {unknown[0]!r} (known: {', '.join(sorted(_KEYS[kind]))})")

    def nodes(items, at: str) -> None:
        for n in items or ():
            check(n, "node", f"{at} > {n.get('label') if isinstance(n, dict) else n!r}")
            nodes(n.get("children"), f"{at} > {n.get('label')}")

    check(doc, "format", "top level")
    for tname, t in (doc.get("tables") or {}).items():
        check(t, "table", f"tables.{tname}")
        if "locate" in t:
            check(t["locate"], "locate", f"tables.{tname}.locate")
        for b in t.get("blocks") or ():
            check(b, "block", f"tables.{tname} block {b.get('code') if isinstance(b, dict) else repr(b)}")
            nodes(b.get("rows"), f"tables.{tname}.{b.get('code')}.rows")
            nodes(b.get("columns"), f"tables.{tname}.{b.get('code')}.columns")
    for kind, section in (("identity", "identities"), ("hierarchy", "hierarchy"), ("cross_year", "cross_year")):
        for i in doc.get(section) or ():
            check(i, kind, f"{section} {i.get('id') if isinstance(i, dict) else repr(i)}")
    for measure, m in (doc.get("summary") or {}).items():
        check(m, "measure", f"summary.{measure}")


def _identity(i: dict, tables: dict[str, Table], path: Path) -> Identity:
    """An identity as declared: ``lhs``/``rhs`` written out (an equation across the tree, e.g. the
    balance of table 三), or ``sums: <path of a total>``: the total equals the leaves under its
    parent node, totals left out, in the tree's order — the terms come from the tree."""
    if "sums" not in i:
        return Identity(i["id"], i["number"], i["description"], i["table"], i["for_each"],
                        tuple(i["lhs"]), tuple(i["rhs"]))
    where = f"{path.name}: identity {i.get('id')}"
    if {"lhs", "rhs", "for_each"} & set(i):
        raise FormatError(f"{where}: `sums:` derives lhs, rhs and for_each; do not write them too")
    t = tables.get(str(i.get("table")))
    if t is None:
        raise FormatError(f"{where}: unknown table {i.get('table')!r}")
    total = str(i["sums"])
    for axis, for_each in (("row", "column"), ("column", "row")):
        leaves = list({lf.path: lf for b in t.blocks for lf in (b.rows if axis == "row" else b.columns)}.values())
        node = next((lf for lf in leaves if lf.path == total), None)
        if node is None:
            continue
        if not node.is_total:
            raise FormatError(f"{where}: sums {total!r}, which the tree does not mark `total: true`")
        parent = node.parent_path
        parts = tuple(lf.path for lf in leaves if not lf.is_total and lf.path != total
                      and (not parent or lf.path.startswith(parent + SEP)))
        if not parts:
            raise FormatError(f"{where}: {total!r} has nothing under its parent to sum")
        return Identity(i["id"], i["number"], i["description"], t.name, for_each, (total,), parts)
    raise FormatError(f"{where}: sums {total!r}, which is neither a row nor a column of {t.name}")


def _check_totals(ids: tuple[Identity, ...], tables: dict[str, Table], path: Path) -> None:
    """Every node the tree marks `total: true` is summed by an identity: a total nothing checks
    would be published as is_total with no check of its arithmetic."""
    summed = {(i.table, i.lhs[0]) for i in ids if len(i.lhs) == 1}
    for t in tables.values():
        for b in t.blocks:
            for lf in (*b.rows, *b.columns):
                if lf.is_total and (t.name, lf.path) not in summed:
                    raise FormatError(f"{path.name}: {t.name}: {lf.path!r} is marked `total: true` but no "
                                      f"identity sums it (add `- {{id: …, number: …, description: …, "
                                      f"table: {t.name}, sums: {lf.path}}}`)")


def _load(path: Path, doc: dict | None = None) -> Format:
    """Compile one format from its (resolved, checked) document; ``doc`` None: read ``path`` alone."""
    if doc is None:
        doc = _read(path)
        if "extends" in doc:
            raise FormatError(f"{path.name}: extends {doc['extends']!r}: load it with load_formats(its directory)")
        _check_keys(doc, path.name)
    name = str(doc["format"])
    bounds = doc.get("value_bounds")
    if not isinstance(bounds, dict) or set(bounds) != set(VALUE_KINDS):
        raise FormatError(f"{path.name}: value_bounds must give a bound for each value kind {VALUE_KINDS}")
    for kind in VALUE_KINDS:  # checked even for kinds no column of this format has
        _bounds(bounds, kind, path)
    tables = {}
    for tname, t in doc["tables"].items():
        blocks = []
        for b in t["blocks"]:
            groups: list[str] = []
            row_tree: list = []
            col_tree: list = []
            rows = _leaves(b["rows"], False, groups=groups, tree=row_tree)
            if b.get("caption"):
                rows = [Leaf(**{**r.__dict__, "path": b["caption"] + SEP + r.path,
                                "parent_path": r.parent_path and b["caption"] + SEP + r.parent_path or b["caption"],
                                "parent_code": r.parent_code or b["code"], "level": r.level + 1}) for r in rows]
            cols = [Leaf(**{**c.__dict__, "bounds": _bounds(bounds, c.kind, path)})
                    for c in _leaves(b["columns"], True, tree=col_tree)]
            nodes = _nodes("row", row_tree, b.get("caption"), b["code"]) + _nodes("column", col_tree, None, "")
            blocks.append(Block(b.get("caption"), b["code"], tuple(rows), tuple(cols), tuple(groups), tuple(nodes)))
        loc = t.get("locate", {})
        tables[tname] = Table(tname, t["section"], dict(t["dimensions"]), tuple(blocks),
                              loc.get("heading", ""), tuple(loc.get("anchors", ())),
                              tuple(t.get("header_words", ())))
    ids = tuple(_identity(i, tables, path) for i in doc.get("identities", ()))
    _check_totals(ids, tables, path)
    cross = tuple(CrossYear(c["id"], c["number"], c["description"], c["table"], c["for_each"],
                            tuple(c["current"]), {str(k): tuple(v) for k, v in c["previous"].items()},
                            tuple(c.get("plus", ())), tuple(c.get("minus", ())))
                  for c in doc.get("cross_year", ()))
    fmt = Format(name, doc.get("notice", ""), tables, ids, cross, doc.get("end_heading", ""), source=path,
                 end_section=str(doc.get("end_section", "")), end_anchors=tuple(doc.get("end_anchors", ())),
                 caption_stem=str(doc.get("caption_stem", "")), not_prose=tuple(doc.get("not_prose", ())))
    fmt = Format(**{**fmt.__dict__, "hierarchy": tuple(_hierarchy(fmt, h) for h in doc.get("hierarchy", ()))})
    fmt.summary.update(_summary(doc.get("summary") or {}, fmt))
    _check(fmt)
    return fmt


def _under(paths: list[str], axis: str, table: Table, where: str) -> list[str]:
    """Data paths a measure names: a leaf path itself, a group path every non-total leaf under it."""
    leaves = table.row_paths if axis == "row" else table.column_paths
    totals = {lf.path for b in table.blocks for lf in (b.rows if axis == "row" else b.columns) if lf.is_total}
    out = []
    for p in paths:
        if p in leaves:
            out.append(p)
            continue
        under = [lf for lf in leaves if lf.startswith(p + SEP) and lf not in totals]
        if not under:
            raise FormatError(f"{where}: {axis} {p!r} is neither a {axis} nor a group of {table.name}")
        out += under
    return out


def _summary(spec: dict, fmt: Format) -> dict:
    """The summary section → measure: (table, ((row path, column path), …)), checked against the
    schema registry's measures and the format's addresses."""
    known = {m for m, _ in SUMMARY_MEASURES}
    out = {}
    for measure, m in spec.items():
        where = f"{fmt.source.name}: summary.{measure}"
        if measure not in known:
            raise FormatError(f"{where}: not a measure of the schema registry (transforms/measures.py SUMMARY_MEASURES)")
        if m.get("table") not in fmt.tables:
            raise FormatError(f"{where}: unknown table {m.get('table')!r}")
        t = fmt.tables[m["table"]]
        rows = _under([str(r) for r in m.get("rows", [""])], "row", t, where)
        cols = _under([str(c) for c in m["columns"]], "column", t, where)
        cells = set(fmt.cell_addresses(t.name))
        addresses = tuple((r, c) for r in rows for c in cols if (r, c) in cells)
        if not addresses:
            raise FormatError(f"{where}: no cell of the format at these rows and columns")
        out[measure] = (t.name, addresses)
    return out


def _hierarchy(fmt: Format, h: dict) -> Hierarchy:
    """A hierarchy entry's (total, part) address pairs, over every row or column that has both cells."""
    where = fmt.source.name
    t = fmt.tables.get(h["table"])
    if t is None:
        raise FormatError(f"{where}: hierarchy {h['id']} names unknown table {h['table']!r}")
    here = set(fmt.cell_addresses(t.name))
    specs = []  # (for_each, parent path, child paths)
    by_id = {i.id: i for i in fmt.identities}
    for ident_id in h.get("of", ()):
        i = by_id.get(ident_id)
        if i is None or i.table != t.name or len(i.lhs) != 1:
            raise FormatError(f"{where}: hierarchy {h['id']}: {ident_id!r} is not an identity of {t.name} "
                              "with one total on its lhs")
        specs.append((i.for_each, i.lhs[0], i.rhs))
    if "parent" in h:
        specs.append((h["for_each"], h["parent"], tuple(h["children"])))
    pairs = []
    for for_each, parent, children in specs:
        keys = t.column_paths if for_each == "column" else t.row_paths
        at = (lambda k, p: (p, k)) if for_each == "column" else (lambda k, p: (k, p))
        for k in keys:
            pairs += [(at(k, parent), at(k, c)) for c in children if {at(k, parent), at(k, c)} <= here]
    if not pairs:
        raise FormatError(f"{where}: hierarchy {h['id']} has no pair of cells in the format")
    return Hierarchy(h["id"], h["description"], t.name, tuple(dict.fromkeys(pairs)))


def _check(fmt: Format) -> None:
    """Fail loudly on a format file that would make the engine guess."""
    where = fmt.source.name
    for t in fmt.tables.values():
        addresses = fmt.cell_addresses(t.name)
        if len(set(addresses)) != len(addresses):
            raise FormatError(f"{where}: duplicate cell address in {t.name}")
        for dim, source in t.dimensions.items():
            if source not in ("block", "row_leaf", "column_leaf", "column_parent", "row_parent"):
                raise FormatError(f"{where}: {t.name}.{dim}: unknown dimension source {source!r}")
        # Row labels must be distinguishable within a table (the engine matches them by key).
        seen: dict[str, str] = {}
        for b in t.blocks:
            for r in b.rows:
                for k in r.keys():
                    if k and seen.setdefault(k, r.path) != r.path:
                        raise FormatError(f"{where}: label key {k!r} is ambiguous in {t.name}")
    for i in fmt.identities:
        t = fmt.tables[i.table]
        known = t.row_paths if i.for_each == "column" else t.column_paths
        for p in i.lhs + i.rhs:
            if p not in known:
                raise FormatError(f"{where}: identity {i.id} names unknown path {p!r}")
    for c in fmt.cross_year:
        t = fmt.tables[c.table]
        known = t.row_paths if c.for_each == "column" else t.column_paths
        for p in c.current + c.plus + c.minus:
            if p not in known:
                raise FormatError(f"{where}: cross-year check {c.id} names unknown path {p!r}")
        if c.for_each not in ("row", "column") or not c.current or not c.previous:
            raise FormatError(f"{where}: cross-year check {c.id} needs for_each row|column, current and previous")


def _check_cross_year(formats: dict[str, Format]) -> None:
    """Last year's side of every cross-year check names a known format and cells it has."""
    for fmt in formats.values():
        for c in fmt.cross_year:
            for last in c.previous:
                if last not in formats:
                    raise FormatError(f"{fmt.source.name}: cross-year check {c.id} names unknown format {last!r}")
                if not c.instances(fmt, formats[last]):
                    raise FormatError(f"{fmt.source.name}: cross-year check {c.id} has no instance with last "
                                      f"year's format {last} (paths {c.previous[last]!r} unknown there?)")


def load_formats(directory: Path = FORMAT_DIR) -> dict[str, Format]:
    """Every format file of ``directory``, its ``extends:`` resolved, checked key by key and compiled."""
    docs: dict[str, tuple[Path, dict]] = {}
    for path in sorted(directory.glob("*.yaml")):
        doc = _read(path)
        name = str(doc.get("format", ""))
        if not name:
            raise FormatError(f"{path.name}: no `format:` name")
        if name in docs:
            raise FormatError(f"{path.name}: format {name} defined twice")
        docs[name] = (path, doc)
    formats = {}
    for name, (path, _) in docs.items():
        doc = _resolved(name, docs, ())
        _check_keys(doc, path.name)
        formats[name] = _load(path, doc)
    if not formats:
        raise FormatError(f"no format files in {directory}")
    _check_cross_year(formats)
    return formats


FORMATS: dict[str, Format] = load_formats()


def allowed_paths(table: str) -> dict[str, tuple[set[str], set[str]]]:
    """Per format: (row paths, column paths) allowed in `table`."""
    return {n: (set(f.tables[table].row_paths), set(f.tables[table].column_paths)) for n, f in FORMATS.items()}


__all__ = ["FORMATS", "Format", "Table", "Block", "Leaf", "Node", "Identity", "CrossYear", "Hierarchy",
           "FormatError", "load_formats", "allowed_paths", "cell_place", "SEP", "stem_key", "FORMAT_DIR",
           "SHIPPED_FORMATS"]
