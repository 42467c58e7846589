"""Maintainers' identity overrides (overrides.yaml, in git): applied after extraction, in file order,
deterministically, each use reported in the report's problems.

`NIANBAO_IDENTITY_OVERRIDES` points at another file (tests, a deployment's own pins).
"""
from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from transforms import yamlfile

DEFAULT = Path(__file__).with_name("overrides.yaml")
MATCH_KEYS = ("sha256", "file_name", "url", "organization")
SET_KEYS = ("organization", "division_code", "report_year", "township")


class OverrideError(ValueError):
    pass


@lru_cache(maxsize=8)
def _load(path: str, mtime: float) -> tuple[dict, ...]:
    data = yamlfile.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    rules = data.get("overrides") or []
    out = []
    for i, rule in enumerate(rules, start=1):
        match, values = rule.get("match") or {}, rule.get("set") or {}
        bad = [k for k in match if k not in MATCH_KEYS] + [k for k in values if k not in SET_KEYS]
        if not match or not values or bad:
            raise OverrideError(f"{path}: rule {i} needs `match` ({', '.join(MATCH_KEYS)}) and `set` "
                                f"({', '.join(SET_KEYS)}); unknown keys: {bad}")
        if "division_code" in values and not (str(values["division_code"]).isdigit()
                                              and len(str(values["division_code"])) == 6):
            raise OverrideError(f"{path}: rule {i}: division_code must be 6 digits")
        out.append({"match": {k: str(v) for k, v in match.items()}, "set": dict(values),
                    "note": str(rule.get("note") or ""), "number": i})
    return tuple(out)


_DEFAULT_PATH = str(DEFAULT)


def rules() -> tuple[dict, ...]:
    """The rules in force (the file is read once per process and path)."""
    return _rules_at(os.environ.get("NIANBAO_IDENTITY_OVERRIDES") or _DEFAULT_PATH)


@lru_cache(maxsize=8)
def _rules_at(path: str) -> tuple[dict, ...]:
    p = Path(path)
    return _load(str(p), p.stat().st_mtime) if p.exists() else ()


def apply_overrides(meta: dict, problems: list[str], *, sha256: str | None, source_file: str,
                    url: str | None, gz) -> None:
    """Apply every matching rule to the identity columns of `meta` (in place)."""
    active = rules()
    if not active:
        return
    from transforms.identity import organization as org_mod
    facts = {"sha256": sha256 or "", "file_name": os.path.basename(source_file or ""),
             "url": url or source_file or "", "organization": meta.get("organization") or ""}
    for rule in active:
        if not all(facts[k] == v for k, v in rule["match"].items()):
            continue
        values = rule["set"]
        if "report_year" in values:
            meta.update(report_year=int(values["report_year"]), report_year_source="override",
                        report_year_confidence=1.0)
        if "organization" in values:
            meta.update(organization=str(values["organization"]), organization_source="override",
                        organization_confidence=1.0)
        name = meta.get("organization")
        if name:
            region = str(values["division_code"]) if "division_code" in values else None
            ident = org_mod.identify(org_mod.tidy_name(name), "", region, gz)
            if region and ident.division_code != region:
                # pinned division: the name's own place is overruled
                ident = org_mod.identify(org_mod.tidy_name(name), "", None, gz)
                ident = org_mod.pinned(ident, region, values.get("township"), gz)
            elif values.get("township"):
                ident = org_mod.pinned(ident, ident.division_code or region, values["township"], gz)
            org_mod.fill_meta(meta, ident)
        problems.append(f"identity override {rule['number']} applied ({', '.join(sorted(values))})"
                        + (f": {rule['note']}" if rule["note"] else ""))
