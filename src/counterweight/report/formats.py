"""Number and label text shared by every renderer (terminal, HTML tables, sections).

Fractions print as percent, missing values (None, NaN, non-numbers) as an en dash.
"""

from __future__ import annotations

import math
from typing import Any


def pct(x: Any, digits: int = 1, signed: bool = False) -> str:
    """A fraction as percent text ("12.3%"); NaN as an en dash."""
    try:
        v = float(x)
    except (TypeError, ValueError):
        return "–"
    if not math.isfinite(v):
        return "–"
    return f"{v:+.{digits}%}" if signed else f"{v:.{digits}%}"


def txt(x: Any) -> str:
    """A label as text; missing (None, NaN, "nan") as an en dash."""
    if (
        x is None
        or (isinstance(x, float) and not math.isfinite(x))
        or str(x) in ("nan", "None", "")
    ):
        return "–"
    return str(x)


def num(x: Any, digits: int = 1) -> str:
    """A number with thousands separators ("1,234.5"); NaN as an en dash."""
    try:
        v = float(x)
    except (TypeError, ValueError):
        return "–"
    return f"{v:,.{digits}f}" if math.isfinite(v) else "–"
