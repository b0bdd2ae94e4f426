"""The author's corrections (``bib/overrides.csv``: key,theme,value,note). They always win.

``value`` is ``true``/``false`` (also yes/no/1/0), or the name of a sub-theme, which means true
with that sub-theme. The decision's evidence becomes ``override: <note>``.
"""
from __future__ import annotations

import csv
import io
from pathlib import Path

import pandas as pd

from ..errors import SurveyError

OVERRIDE_COLUMNS = ["key", "theme", "value", "note", "where"]
#: How an overridden decision's evidence starts (build/review.csv leaves those out).
OVERRIDE_EVIDENCE = "override"
_TRUE = {"true", "yes", "1", "y", "t"}
_FALSE = {"false", "no", "0", "n", "f"}


def read_overrides(path: str | Path) -> pd.DataFrame:
    """The overrides file as a DataFrame (key, theme, value, note, where = "file:line").

    A missing file is an empty table. A bad header or a row without key/theme/value is an
    error naming the line; whether keys and themes exist is checked by :func:`apply_overrides`.
    """
    path = Path(path)
    if not path.exists():
        return pd.DataFrame(columns=OVERRIDE_COLUMNS)
    reader = csv.DictReader(io.StringIO(path.read_text(encoding="utf-8-sig")))
    need = {"key", "theme", "value"}
    if reader.fieldnames is None or not need <= {f.strip() for f in reader.fieldnames}:
        raise SurveyError("overrides file needs a header 'key,theme,value,note'", where=f"{path}:1",
                          hint="restore the header line")
    rows = []
    for row in reader:
        row = {(k or "").strip(): (v or "").strip() for k, v in row.items() if isinstance(v, str) or v is None}
        where = f"{path}:{reader.line_num}"
        if not any(row.values()):
            continue
        missing = [c for c in ("key", "theme", "value") if not row.get(c)]
        if missing:
            raise SurveyError(f"row has no {', '.join(missing)}", where=where,
                              hint="each row is key,theme,value,note (value true, false or a sub-theme)")
        rows.append({"key": row["key"], "theme": row["theme"], "value": row["value"],
                     "note": row.get("note", ""), "where": where})
    return pd.DataFrame(rows, columns=OVERRIDE_COLUMNS)


def apply_overrides(frame: pd.DataFrame, overrides: pd.DataFrame, taxonomy=None) -> pd.DataFrame:
    """A copy of ``frame`` (classified, indexed by key) with every override applied.

    The override sets the theme's boolean (and the sub-theme when the value names one, or the
    theme's fallback when a forced true had none); the evidence becomes ``override: <note>``.
    An unknown key or theme, or a value that is neither true/false nor a sub-theme, is an error
    naming the csv line.
    """
    out = frame.copy()
    if overrides is None or len(overrides) == 0:
        return out
    subthemes = {}
    if taxonomy is not None:
        subthemes = {t.name: ([s.name for s in t.subthemes], t.fallback_subtheme) for t in taxonomy.themes}
    for row in overrides.to_dict("records"):
        where = row.get("where") or "overrides"
        key, theme, value = row["key"], row["theme"], str(row["value"]).strip()
        if key not in out.index:
            close = [k for k in out.index if str(k).lower() == key.lower()]
            raise SurveyError(f"unknown citation key {key!r}", where=where,
                              hint=f"did you mean {close[0]!r}?" if close else "use a key from bib/keys.csv")
        if theme not in out.columns or f"{theme}_evidence" not in out.columns:
            themes = [c[:-len("_evidence")] for c in out.columns if c.endswith("_evidence")]
            raise SurveyError(f"unknown theme {theme!r}", where=where,
                              hint=f"themes: {', '.join(themes)}")
        names, fallback = subthemes.get(theme, ([], "other"))
        low = value.lower()
        if low in _TRUE:
            decided, sub = True, None
        elif low in _FALSE:
            decided, sub = False, ""
        elif value in names or (not names and taxonomy is None):
            decided, sub = True, value
        else:
            raise SurveyError(f"value {value!r} is neither true/false nor a sub-theme of {theme}", where=where,
                              hint=f"sub-themes: {', '.join(names)}" if names else "use true or false")
        out.at[key, theme] = decided
        if sub is None:  # forced true: keep the classifier's sub-theme, or the fallback
            sub = out.at[key, f"{theme}_subtheme"] or fallback
        out.at[key, f"{theme}_subtheme"] = sub
        note = str(row.get("note") or "").strip()
        out.at[key, f"{theme}_evidence"] = f"{OVERRIDE_EVIDENCE}: {note}" if note else OVERRIDE_EVIDENCE
    return out
