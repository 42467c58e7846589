"""The checks of transforms/checks.yaml that do not depend on the national format (pure).

* level bounds — counts implausible for the level of the body's division (a township reporting
  100,000 applications): a warn, thresholds as data;
* all-zero reports — every printed value 0: a warn, never a fail;
* consolidated reports — recognised by a word of their printed organisation or file name; the
  run-level pass (transforms/checks/crossyear.py) compares them with the sum of their constituents.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from transforms import schema, yamlfile

CHECKS_FILE = Path(__file__).parents[1] / "checks.yaml"


@dataclass(frozen=True)
class LevelBound:
    id: str
    description: str
    table: str
    max_count: dict[str, float]


@dataclass(frozen=True)
class Consolidated:
    id: str
    description: str
    table: str


@dataclass(frozen=True)
class Checks:
    level_bounds: tuple[LevelBound, ...]
    levels_by_organization_type: dict[str, str]
    all_zero_id: str
    all_zero_description: str
    all_zero_table: str
    all_zero_min_values: int
    consolidated_words: tuple[str, ...]
    consolidated: tuple[Consolidated, ...]


class ChecksError(ValueError):
    """checks.yaml is inconsistent: raised at import so a bad file never reaches a run."""


def load_checks(path: Path = CHECKS_FILE) -> Checks:
    doc = yamlfile.safe_load(path.read_text(encoding="utf-8"))
    levels = tuple(LevelBound(b["id"], b["description"], b["table"], {str(k): float(v) for k, v in
                                                                       b["max_count"].items()})
                   for b in doc.get("level_bounds", ()))
    by_type = {str(k): str(v) for k, v in (doc.get("levels_by_organization_type") or {}).items()}
    az = doc["all_zero"]
    cons = doc["consolidated"]
    out = Checks(levels, by_type, az["id"], az["description"], az["table"], int(az["min_values"]),
                 tuple(cons["title_words"]),
                 tuple(Consolidated(c["id"], c["description"], c["table"]) for c in cons["checks"]))
    for b in out.level_bounds:
        if b.table not in schema.STATUTORY_TABLES or not set(b.max_count) <= set(schema.DIVISION_LEVELS):
            raise ChecksError(f"{path.name}: {b.id}: unknown table or level")
    if not set(out.levels_by_organization_type) <= set(schema.ORGANIZATION_TYPES) or \
            not set(out.levels_by_organization_type.values()) <= set(schema.DIVISION_LEVELS):
        raise ChecksError(f"{path.name}: levels_by_organization_type names an unknown type or level")
    if out.all_zero_table not in schema.STATUTORY_TABLES or any(
            c.table not in schema.STATUTORY_TABLES for c in out.consolidated):
        raise ChecksError(f"{path.name}: unknown table")
    if not out.consolidated_words:
        raise ChecksError(f"{path.name}: consolidated.title_words is empty")
    return out


CHECKS = load_checks()


def body_level(reports: pd.DataFrame) -> pd.Series:
    """The level of each report's body: division_level, else the one level its organization_type has."""
    def column(name):
        if name not in reports:
            return np.full(len(reports), None, dtype=object)
        codes, uniq = pd.factorize(reports[name].astype(object))   # few distinct values
        return np.append(np.asarray(uniq, dtype=object), None)[codes]
    level = column("division_level")
    by_type = column("organization_type")
    missing = pd.isna(level)
    if missing.any():
        level[missing] = pd.Series(by_type[missing], dtype=object).map(CHECKS.levels_by_organization_type) \
            .to_numpy(dtype=object)
    return pd.Series(level, index=reports.index, dtype=object).where(~pd.isna(level), None)


_WORDS = re.compile("|".join(re.escape(w) for w in CHECKS.consolidated_words))


def _base_name(name: str) -> str:
    """The last part of a path or URL (what Path(name).name gives for a local path), without building a
    Path: the run-level pass looks at every report's file name (0.46 s of 0.86 s of its plan, profiled,
    for 2,000 reports)."""
    return name.rstrip("/").rpartition("/")[2]


def is_consolidated(reports: pd.DataFrame) -> np.ndarray:
    """True for a report whose printed organisation or file name carries a consolidated-report word
    (全区, 全市, 汇总 …: checks.yaml). Few distinct names: each is searched once."""
    hit = np.zeros(len(reports), dtype=bool)
    for col in ("organization", "source_file"):
        if col not in reports:
            continue
        codes, names = pd.factorize(reports[col].astype(object))
        found = np.fromiter((bool(_WORDS.search(_base_name(str(n)))) for n in names), dtype=bool, count=len(names))
        hit |= np.append(found, False)[codes]
    return hit


__all__ = ["CHECKS", "Checks", "LevelBound", "Consolidated", "ChecksError", "load_checks", "body_level",
           "is_consolidated"]
