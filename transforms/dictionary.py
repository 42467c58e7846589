"""The data dictionary, projected from the schema registry (pure).

    python -m transforms.dictionary            # rewrites docs/data_dictionary.md
"""
from __future__ import annotations

import sys
from pathlib import Path

from transforms import schema


def _type(f) -> str:
    return str(f.arrow).replace("list<item: string>", "list<string>")


def render() -> str:
    out = ["# nianbao data dictionary", "",
           "Generated from `transforms/schema.py` by `python -m transforms.dictionary`; do not edit by hand.", "",
           "Every dataset is Parquet under `data/processed/<dataset>/`, partitioned by year when it has a "
           "`report_year` column (`2020/part-0.parquet`; reports with no year in `unknown/`). Every file "
           "holds all the columns below, `report_year` included (an int64, null when unknown): read a "
           "dataset's folder with no partitioning argument. Strings are dictionary-encoded in the files. Rows "
           "are in report_id order, in row groups of 65,536 rows (fewer for quality_checks, whose free text "
           "is wide) with min/max statistics on report_id and report_year, so a lookup by report or year "
           "skips the other row groups. Each file's key-value metadata `nianbao` holds these descriptions "
           "(JSON); each published version has `datapackage.json` (Frictionless Data Package) and "
           "`nianbao.duckdb` (a view per dataset) beside the datasets.", "",
           f"Parser version: `{schema.PARSER_VERSION}`.", ""]
    out += ["| dataset | partitioned by | description |", "|---|---|---|"]
    for name in schema.DATASETS:
        part = schema.partition_key(name) or "—"
        out.append(f"| [`{name}`](#{name}) | {part} | {schema.DESCRIPTIONS.get(name, '')} |")
    out.append("")
    for name, fields in schema.DATASETS.items():
        out += [f"## {name}", "", schema.DESCRIPTIONS.get(name, ""), "",
                "| column | type | nullable | description | allowed values |", "|---|---|---|---|---|"]
        for f in fields:
            allowed = ", ".join(f"`{a}`" for a in f.allowed) if f.allowed else ""
            desc = f.description.replace("|", "\\|")
            if f.free_text:
                desc += " Free text: typed by the Parquet schema, not part of the GX views."
            out.append(f"| `{f.name}` | {_type(f)} | {'yes' if f.nullable else 'no'} | {desc} | {allowed} |")
        out.append("")
    if getattr(schema, "CELL_FLAGS", None):
        out += ["## Cell flags", "", ", ".join(f"`{c}`" for c in schema.CELL_FLAGS), ""]
    return "\n".join(out)


def write(path: str | Path = "docs/data_dictionary.md") -> Path:
    p = Path(path)
    p.write_text(render(), encoding="utf-8")
    return p


if __name__ == "__main__":
    print(write(*sys.argv[1:]))
