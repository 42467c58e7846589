"""How the checks write numbers, cell addresses and repeated observations into their texts."""
from __future__ import annotations

import numpy as np
import pandas as pd


def fmt_num(x: float) -> str:
    if x != x:
        return "空"
    return str(int(x)) if float(x).is_integer() and abs(x) <= 2 ** 53 else f"{x:g}"  # no invented digits



def addr_label(a: tuple[str, str]) -> str:
    return f"{a[0]} | {a[1]}" if a[0] else a[1]



def texts(template, *columns) -> np.ndarray:
    """template(*values) for each row of `columns`, formatted once per distinct row (few distinct)."""
    coded = [pd.factorize(np.asarray(c), use_na_sentinel=False) for c in columns]
    rows, inverse = np.unique(np.stack([c for c, _ in coded], axis=1), axis=0, return_inverse=True)
    shown = [template(*(u[k] for (_, u), k in zip(coded, row))) for row in rows]
    return np.asarray(shown, dtype=object)[inverse.ravel()]

