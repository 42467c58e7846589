"""The `codes` dataset and the crosswalk between formats, generated from the format files (pure).

    python -m transforms.codes            # rewrites docs/crosswalk.md
    python -m transforms.codes --check    # exit 1 if docs/crosswalk.md is not what the format files give

Every labelled node of every format's row and column trees is one row: its code, label, parent,
level, whether it is a total and its harmonised code. Nothing here names a format or a label: a
third format file adds its rows with no code change.
"""
from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

from transforms import schema
from transforms.formats import FORMATS, SEP, Format
from transforms.typed import conform

CROSSWALK = Path(__file__).resolve().parents[1] / "docs" / "crosswalk.md"


def _dimension(table, axis: str, is_leaf: bool, is_caption: bool) -> str | None:
    """The cell-dataset dimension whose *_code column holds a node's code (a group node: the axis's
    parent dimension when the table has one, else its leaf dimension)."""
    by_source = {source: name for name, source in table.dimensions.items()}
    if is_caption:
        return by_source.get("block")
    if not is_leaf and f"{axis}_parent" in by_source:
        return by_source[f"{axis}_parent"]
    return by_source.get(f"{axis}_leaf") or by_source.get(f"{axis}_parent")


def code_rows(formats: dict[str, Format] | None = None) -> list[dict]:
    """One dict per (format, table, axis, path), in the format files' order."""
    rows: list[dict] = []
    for fname, fmt in (formats or FORMATS).items():
        for tname, table in fmt.tables.items():
            seen: dict[tuple[str, str], dict] = {}
            for block in table.blocks:
                code_of = {n.path: n.code for n in block.nodes}
                for n in block.nodes:
                    if (n.axis, n.path) in seen:       # a column shared by several sub-tables
                        continue
                    parts = n.path.split(SEP)
                    chain = [code_of[SEP.join(parts[:i])] for i in range(1, len(parts)) if SEP.join(parts[:i]) in code_of]
                    seen[(n.axis, n.path)] = row = {
                        "format": fname, "table": tname, "axis": n.axis,
                        "dimension": _dimension(table, n.axis, n.is_leaf, n.axis == "row" and n.path == block.caption),
                        "path": n.path, "label": n.label, "code": n.code, "code_path": SEP.join([*chain, n.code]),
                        "parent_code": n.parent_code, "level": n.level, "is_total": n.is_total,
                        "is_leaf": n.is_leaf, "harmonised_code": n.harmonised}
                    rows.append(row)
    return rows


def codes_frame(formats: dict[str, Format] | None = None) -> pd.DataFrame:
    rows = code_rows(formats)
    return conform({f.name: [r[f.name] for r in rows] for f in schema.fields("codes")}, "codes")


def render_crosswalk(formats: dict[str, Format] | None = None) -> str:
    """docs/crosswalk.md: per table, each harmonised code with what every format prints for it."""
    formats = formats or FORMATS
    rows = code_rows(formats)
    names = list(formats)
    out = ["# Crosswalk between the report formats", "",
           "Generated from `transforms/formats/*.yaml` by `python -m transforms.codes`; do not edit by hand. "
           "The same rows are published as the `codes` dataset.", "",
           "A harmonised code names one quantity in every format: where a format splits a row the other "
           "prints once, the split rows carry the other's code as `harmonised_code` (declared with "
           "`harmonised:` in the format file), so grouping cells by it (join `codes` on format = template, "
           "table, path = row_path) adds them up to the comparable figure. **Total** marks totals and "
           "subtotals (`is_total` in the cell datasets): leave them out when summing their parts. "
           "*(group)* is a label without cells of its own; — means the format has no such node.", ""]
    for tname in schema.STATUTORY_TABLES:
        for axis in schema.AXES:
            sel = [r for r in rows if r["table"] == tname and r["axis"] == axis]
            if not sel or all(r["path"] == "" for r in sel):
                continue
            out += [f"## {tname}: {axis}s", "",
                    "| harmonised code | " + " | ".join(f"format {n}" for n in names) + " |",
                    "|---|" + "---|" * len(names)]
            order: dict[str, dict[str, list[dict]]] = {}
            for r in sel:
                order.setdefault(r["harmonised_code"], {}).setdefault(r["format"], []).append(r)
            for h, by_format in order.items():
                cells = []
                for n in names:
                    rs = by_format.get(n, [])
                    if not rs:
                        cells.append("—")
                        continue
                    cells.append("<br>".join(
                        f"`{r['code']}` {_md(r['path'])}"
                        + (" *(group)*" if not r["is_leaf"] else "") + (" **total**" if r["is_total"] else "")
                        for r in rs))
                out.append(f"| `{h}` | " + " | ".join(cells) + " |")
            out.append("")
    out += ["## Summary measures", "",
            "The `report_summary` dataset sums these cells (总计 column unless named) per report; `summary:` in "
            "the format files.", "",
            "| measure | " + " | ".join(f"format {n}" for n in names) + " |", "|---|" + "---|" * len(names)]
    for measure, _ in schema.SUMMARY_MEASURES:
        cells = []
        for n in names:
            spec = formats[n].summary.get(measure)
            cells.append("—" if spec is None else
                         f"{spec[0]}: " + " + ".join(f"{r or '(data row)'} × {c}" for r, c in spec[1]).replace("|", "\\|"))
        out.append(f"| `{measure}` | " + " | ".join(cells) + " |")
    return "\n".join(out) + "\n"


def _md(text: str) -> str:
    return text.replace("|", "\\|")


def main(argv: list[str]) -> int:
    text = render_crosswalk()
    if "--check" in argv:
        if not CROSSWALK.exists() or CROSSWALK.read_text(encoding="utf-8") != text:
            print(f"{CROSSWALK} is out of date: run python -m transforms.codes", file=sys.stderr)
            return 1
        return 0
    CROSSWALK.write_text(text, encoding="utf-8")
    print(CROSSWALK)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
