"""Rebuild the shipped gazetteer (data/gazetteer.tsv.gz) from jionlp's location dictionary.

jionlp (Apache-2.0, PyPI) keeps China's administrative divisions up to date from the Ministry of
Civil Affairs' code list (GB/T 2260 codes for provinces, cities and counties) with the townships
under each county and a log of renamed divisions. nianbao ships a compact projection of it instead
of depending on jionlp at run time: jionlp brings a segmenter and ~17 MB, and the parse only needs
names, codes and parents.

    pip download --no-deps jionlp==1.5.31 -d /tmp/j
    python -m transforms.identity.build_gazetteer /tmp/j/jionlp-1.5.31-py2.py3-none-any.whl

Rows (tab-separated): P code name short | C code name short province | D code name short city |
T county township | F code former_name former_parent (a name the division had before a change).
"""
from __future__ import annotations

import gzip
import io
import sys
import zipfile
from pathlib import Path

OUT = Path(__file__).with_name("data") / "gazetteer.tsv.gz"
SOURCE = "jionlp 1.5.31 dictionary/china_location.zip + china_location_change.txt (Apache-2.0)"


def _read(wheel: str, name: str) -> str:
    with zipfile.ZipFile(wheel) as zf:
        data = zf.read(f"jionlp/dictionary/{name}")
    if name.endswith(".zip"):
        with zipfile.ZipFile(io.BytesIO(data)) as inner:
            data = inner.read(inner.namelist()[0])
    return data.decode("utf-8")


def build(wheel: str) -> list[str]:
    rows: set[str] = set()
    prov = city = county = None
    parent_name: dict[str, str] = {}   # code → name of its parent (to place renamed divisions)
    code_name: dict[str, str] = {}
    for line in _read(wheel, "china_location.zip").splitlines():
        depth = len(line) - len(line.lstrip("\t"))
        parts = line.strip("\t").split("\t")
        if not parts[0] or (depth < 3 and len(parts) < 3):
            continue
        if depth == 0:
            prov = parts[1]
            rows.add(f"P\t{prov}\t{parts[0]}\t{parts[2]}")
        elif depth == 1:
            city = parts[1]
            if city != prov:   # municipalities repeat themselves as their own city
                rows.add(f"C\t{city}\t{parts[0]}\t{parts[2]}\t{prov}")
        elif depth == 2:
            county = parts[1]
            if county != city:  # 市直辖行政区划 of cities without counties (东莞, 中山…)
                rows.add(f"D\t{county}\t{parts[0]}\t{parts[2]}\t{city}")
        elif depth == 3 and county:
            rows.add(f"T\t{county}\t{parts[0]}")
        if depth < 3:
            code_name[parts[1]] = parts[0]
    for r in rows:
        f = r.split("\t")
        if f[0] in "CD":
            parent_name[f[1]] = code_name.get(f[4], "")
    by_name: dict[str, list[str]] = {}
    for r in rows:
        f = r.split("\t")
        if f[0] in "CD":
            by_name.setdefault(f[2], []).append(f[1])
    # renames: old name → the division's current code (a 2019 report may use the old name)
    for line in _read(wheel, "china_location_change.txt").splitlines():
        if "=>" not in line:
            continue
        old, new = line.split("=>")
        old_f, new_f = old.split("\t"), new.split("\t")
        if len(old_f) < 6 or len(new_f) < 2:
            continue
        old_name, new_name, new_parent = old_f[-2], new_f[-1], new_f[-2]
        if old_name == new_name:
            continue
        codes = [c for c in by_name.get(new_name, []) if parent_name.get(c) == new_parent]
        if len(codes) == 1:
            rows.add(f"F\t{codes[0]}\t{old_name}\t{old_f[-4] if len(old_f) >= 7 else ''}")
    return sorted(rows)


def main(argv: list[str]) -> None:
    rows = build(argv[0])
    payload = ("# " + SOURCE + "\n" + "\n".join(rows) + "\n").encode("utf-8")
    with open(OUT, "wb") as fh, gzip.GzipFile(fileobj=fh, mode="wb", mtime=0, filename="") as gz:
        gz.write(payload)
    print(f"{OUT}: {len(rows)} rows, {OUT.stat().st_size} bytes")


if __name__ == "__main__":
    main(sys.argv[1:])
