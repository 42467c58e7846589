"""Damaged copies of the seeds: how many are lost, and is every published value still right or flagged?

Usage: python bench/decode_damage.py [N] [--code DIR]

N random truncations and N single bit flips per seed (tests/fixtures/seeds/*.txt, 5 seeds), deterministic
(random.Random(seed index)). Each copy is parsed with engine.parse_report and counted as
* published (status parsed), published and repaired (a decode_repaired problem), or
* lost, by the reason code its quarantine row would get (undecodable = thrown away by the decoder).
For every published copy, each value is compared with the intact seed's value at the same address:
a different value without any flag is a *silent wrong number* (printed, must be 0).

--code DIR imports nianbao from another checkout (e.g. `git worktree add /tmp/before <commit>`), so
the same corpus is measured before and after a change.
"""
from __future__ import annotations

import random
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SEEDS = sorted((ROOT / "tests" / "fixtures" / "seeds").glob("*.txt"))


def truncations(data: bytes, n: int, rng: random.Random) -> list[bytes]:
    return [data[:rng.randrange(1, len(data))] for _ in range(n)]


def bit_flips(data: bytes, n: int, rng: random.Random) -> list[bytes]:
    out = []
    for _ in range(n):
        pos, bit = rng.randrange(len(data)), rng.randrange(8)
        out.append(data[:pos] + bytes([data[pos] ^ (1 << bit)]) + data[pos + 1:])
    return out


def measure(n: int) -> dict:
    from transforms.engine import parse_report
    from transforms.checks.quarantine import classify_reason

    stats = {kind: Counter() for kind in ("truncation", "bit_flip")}
    wrong: dict[bool, list[str]] = {True: [], False: []}   # by: was the copy repaired
    for k, seed in enumerate(SEEDS):
        data = seed.read_bytes()
        truth = {(c.table, c.row_path, c.column_path): c.value for c in parse_report(data, seed.name).cells}
        rng = random.Random(k)
        for kind, copies in (("truncation", truncations(data, n, rng)), ("bit_flip", bit_flips(data, n, rng))):
            for i, copy in enumerate(copies):
                p = parse_report(copy, f"{seed.name}#{kind}{i}")
                rep = p.report
                if rep["status"] == "unreadable":
                    stats[kind]["lost: " + classify_reason(rep["problems"], rep["file_size"])] += 1
                    continue
                repaired = any("decode_repaired" in x for x in rep["problems"])
                stats[kind]["published, repaired" if repaired else "published"] += 1
                stats[kind]["flagged decode_repaired cells"] += sum("decode_repaired" in c.flags for c in p.cells)
                for c in p.cells:
                    key = (c.table, c.row_path, c.column_path)
                    if c.value is not None and not c.flags and truth.get(key) != c.value:
                        wrong[repaired].append(f"{rep['source_file']}: {key} = {c.raw_value!r} (seed: {truth.get(key)!r})")
    return {"stats": stats, "wrong": wrong}


def main() -> None:
    args = sys.argv[1:]
    code = ROOT
    if "--code" in args:
        i = args.index("--code")
        code = Path(args[i + 1]).resolve()
        del args[i:i + 2]
    sys.path.insert(0, str(code))
    n = int(args[0]) if args else 30
    res = measure(n)
    print(f"code: {code}; {len(SEEDS)} seeds x {n} truncations and {n} single bit flips")
    for kind, c in res["stats"].items():
        print(f"  {kind:10s} " + ", ".join(f"{k}: {v}" for k, v in sorted(c.items())))
    print("  silent wrong numbers (value differs from the seed's, no flag):")
    print(f"    in repaired copies: {len(res['wrong'][True])} (must be 0)")
    print(f"    in copies that decode cleanly: {len(res['wrong'][False])} (a flip into another valid "
          f"character, e.g. '0' -> '8': no decoder can see it)")
    for w in res["wrong"][True][:10] + res["wrong"][False][:10]:
        print("    " + w)


if __name__ == "__main__":
    main()
