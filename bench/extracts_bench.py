"""Cells read right from every real text extract in the repository, against the answer keys.

Usage: python bench/extracts_bench.py [-v]      (-v lists every cell that is not right)

The sets (the tree this script lives in, never another checkout):
* tests/fixtures/extracts: real reports printed to PDF and read back by PDF extractors
  (README.md there says how each was made); `keys.json` names each file's answer key and the keyed
  cells the copy does not hold at all (cut off before them: nobody can read them), by row (every
  column) or by cell, each with why;
* tests/fixtures/web_extracts: real report pages as the web copies hold them, each with its key
  `<name>.json` beside it.

Every keyed cell (`cells` and `partial_table_cells`) is one of:
  right    the key's value (null for a blank), flagged or not;
  flagged  published with another value (or null) and a flag saying the parse was uncertain;
  wrong    published with another value and no such flag (must stay 0);
  missing  not published (its row not found or dropped, a problem says so);
  absent   not in the copy's bytes (keys.json `absent`): counted apart, not in the rate over
           present cells.
Prints one line per file and the totals: the rate over the cells present in the copies, and over
every keyed cell.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from transforms.engine import parse_report  # noqa: E402
from transforms.schema import PARSER_FLAGS  # noqa: E402

EXTRACTS = ROOT / "tests" / "fixtures" / "extracts"
WEB = ROOT / "tests" / "fixtures" / "web_extracts"
DOUBT = set(PARSER_FLAGS)


def cases() -> list[tuple[str, Path, dict, set]]:
    """(set name, extract, key, absent cell addresses) for every keyed real extract."""
    out = []
    manifest = json.loads((EXTRACTS / "keys.json").read_text("utf-8"))
    for name, entry in sorted(manifest.items()):
        if name.startswith("_"):
            continue
        key = json.loads((EXTRACTS / entry["key"]).read_text("utf-8"))
        absent = {(a["table"], a["row"], a.get("column")) for a in entry.get("absent", [])}
        out.append(("extracts", EXTRACTS / name, key, absent))
    for path in sorted(WEB.glob("*.txt")):
        key = json.loads(path.with_suffix(".json").read_text("utf-8"))
        out.append(("web_extracts", path, key, set()))
    return out


def score(path: Path, key: dict, absent: set) -> tuple[dict, list]:
    """Counts per outcome for one extract, and the cells that are not right."""
    parsed = parse_report(path.read_bytes(), path.name)
    got = {(c.table, c.row_path, c.column_path): c for c in parsed.cells}
    counts = dict.fromkeys(("right", "flagged", "wrong", "missing", "absent"), 0)
    misses = []
    for k in key.get("cells", []) + key.get("partial_table_cells", []):
        address = (k["table"], k["row"], k["column"])
        if address in absent or address[:2] + (None,) in absent:
            counts["absent"] += 1
            continue
        c = got.get(address)
        if c is None:
            outcome = "missing"
        elif c.value == k["value"]:
            outcome = "right"
        elif DOUBT & set(c.flags):
            outcome = "flagged"
        else:
            outcome = "wrong"
        counts[outcome] += 1
        if outcome != "right":
            misses.append((outcome, address, k["value"], None if c is None else (c.value, c.raw_value, c.flags)))
    return counts, misses


def main() -> int:
    verbose = "-v" in sys.argv[1:]
    total = dict.fromkeys(("right", "flagged", "wrong", "missing", "absent"), 0)
    print(f"{'set/file':52} {'keyed':>5} {'right':>5} {'flag':>5} {'wrong':>5} {'miss':>5} {'absent':>6}")
    for group, path, key, absent in cases():
        counts, misses = score(path, key, absent)
        keyed = sum(counts.values())
        print(f"{group + '/' + path.name:52} {keyed:5} {counts['right']:5} {counts['flagged']:5} "
              f"{counts['wrong']:5} {counts['missing']:5} {counts['absent']:6}")
        for k in total:
            total[k] += counts[k]
        if verbose:
            for miss in misses:
                print("    ", *miss)
    keyed = sum(total.values())
    present = keyed - total["absent"]
    print(f"{'total':52} {keyed:5} {total['right']:5} {total['flagged']:5} {total['wrong']:5} "
          f"{total['missing']:5} {total['absent']:6}")
    print(f"right over the cells present in the copies: {total['right']}/{present} = "
          f"{100 * total['right'] / present:.1f} %")
    print(f"right over every keyed cell:                {total['right']}/{keyed} = "
          f"{100 * total['right'] / keyed:.1f} %")
    print(f"wrong without a flag: {total['wrong']}")
    return 1 if total["wrong"] else 0


if __name__ == "__main__":
    sys.exit(main())
