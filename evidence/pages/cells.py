"""How a number in a table is shown, the same in the app and on the static site: four significant digits.

The downloads keep every digit; the page shows what a reader can quote ("23.18", not "23.18159858").
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

SIGNIFICANT = 4


def shown_number(value: float) -> float:
    """``value`` to ``SIGNIFICANT`` significant digits, still a number (so an app table still sorts by it)."""
    if not math.isfinite(value):
        return value
    return float(f"{value:.{SIGNIFICANT}g}")


def shown_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A table as shown: float columns to ``SIGNIFICANT`` digits, everything else as it is."""
    floats = [c for c in frame.columns if pd.api.types.is_float_dtype(frame[c])]
    return frame.assign(**{c: frame[c].map(shown_number) for c in floats}) if floats else frame


def shown_text(value: Any) -> str:
    """A float as the site prints it: integers without ".0", others to ``SIGNIFICANT`` significant digits."""
    return str(int(value)) if float(value).is_integer() and abs(value) < 1e15 else f"{value:.{SIGNIFICANT}g}"
