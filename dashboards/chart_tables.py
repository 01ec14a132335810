"""A chart's data as an HTML table: the text alternative of every dashboard chart (WCAG 1.1.1).

A plotly chart is a picture to a screen reader, and its tooltips (which carry each point's n and
interval) open only under a mouse. The table is built from the figure itself, so it shows exactly
what was drawn, nothing more (a suppressed group is as absent from it as from the chart):

- a bar or line chart gives one row per category (a week, a unit, an item) and one column per
  series; a heatmap one row per row of the chart and one column per column;
- each cell is the point's tooltip, as the chart's author wrote it (``hovertemplate``), less the
  lines that only repeat the row's or the column's header;
- a chart with no categorical axis (the evidence scatters) gives one row per point;
- what is written on the chart (a "not enough responses" message, a reason a row has no
  estimate) follows the table as notes.

Tooltip formats are d3's; the few the figures use (``.0%``, ``.2f``, ``+.2f``, ``.3g``, ``,d``)
mean the same in Python's format language.
"""

from __future__ import annotations

import functools
import math
import re
from typing import Any

import numpy as np
from dash import html

# Beyond this many rows the table shows the first ones and says so: the CSV holds them all.
MAX_ROWS = 200
# A heatmap's table shows at most this many cells (whole rows).
MAX_CELLS = 1_500
FIELD = re.compile(r"%\{([^}:]+)(?::([^}]*))?\}")
EXTRA = re.compile(r"<extra>.*?</extra>", re.DOTALL)
BR = re.compile(r"<br\s*/?>")
CUSTOMDATA_MEMBER = re.compile(r"customdata\[(\d+)\]")
TAG = re.compile(r"<[^>]+>")
NO_VALUE = "no value"
# A tooltip line's lead-in may name the point's header with a few words before it ("Week of").
LEAD_IN = 12
# What the rows are, when neither the chart's axis nor its callback says.
ROWS = "Category"


def _values(value: Any) -> list:
    """A trace's data array as a list (plotly takes lists, tuples and numpy arrays)."""
    if value is None:
        return []
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, dict):  # plotly's binary encoding: {"dtype", "bdata"}; not used here
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


def _missing(value: Any) -> bool:
    """No value at this point (a gap in a line, a blank cell)."""
    return value is None or (isinstance(value, float) and math.isnan(value))


def _format(value: Any, spec: str | None) -> str:
    """``value`` as a tooltip shows it with the d3 format ``spec``."""
    if _missing(value):
        return NO_VALUE
    if spec and isinstance(value, (int, float)) and not isinstance(value, bool):
        try:
            return format(value, spec.replace("~", ""))
        except ValueError:
            pass
    if isinstance(value, float):
        # plotly's own default: a few significant digits, whole numbers without decimals.
        return f"{value:,.0f}" if value.is_integer() or abs(value) >= 100 else f"{value:.3g}"
    return str(value)


def _plain(text: str) -> str:
    """Tooltip markup as plain text (plotly allows a few tags, e.g. ``<b>``; a label may wrap)."""
    return re.sub(r"\s+", " ", TAG.sub(" ", text)).strip()


def _lines(text: str) -> list[str]:
    """A tooltip's lines, markup removed, empty ones dropped."""
    text = EXTRA.sub("", text)
    return [line for line in (_plain(part) for part in BR.split(text)) if line]


def _compile(template: str) -> list[list[str | tuple[str, int | None, str | None]]]:
    """A tooltip template, parsed once per trace: its lines, each a list of literal text (markup
    removed) and fields ``(name, k of customdata[k], format)``."""
    lines = []
    for raw in BR.split(EXTRA.sub("", template)):
        parts: list[str | tuple[str, int | None, str | None]] = []
        position = 0
        for match in FIELD.finditer(raw):
            parts.append(TAG.sub(" ", raw[position:match.start()]))
            name, spec = match.group(1), match.group(2)
            member = CUSTOMDATA_MEMBER.fullmatch(name)
            parts.append(("customdata", int(member.group(1)), spec) if member
                         else (name, None, spec))
            position = match.end()
        parts.append(TAG.sub(" ", raw[position:]))
        lines.append(parts)
    return lines


def _at(values: list, index: tuple[int, ...]) -> Any:
    """``values`` at ``index`` (a heatmap's arrays are rows of columns); a scalar applies to
    every point."""
    if not isinstance(values, list):
        return values
    found: Any = values
    for i in index:
        if not isinstance(found, list):
            return found
        if i >= len(found):
            return None
        found = found[i]
    return found


class _Trace:
    """One plotly trace, read the way its tooltip reads it."""

    def __init__(self, trace: dict) -> None:
        self.trace = trace
        self.kind = trace.get("type", "scatter")
        self.name = str(trace.get("name") or "")
        self.x = _values(trace.get("x"))
        self.y = _values(trace.get("y"))
        self.z = [_values(row) for row in _values(trace.get("z"))]
        text = trace.get("text")
        self.text = text if isinstance(text, str) else _values(text)
        custom = trace.get("customdata")
        self.custom = [_values(c) if isinstance(c, (list, tuple, np.ndarray)) else c
                       for c in _values(custom)]
        template = trace.get("hovertemplate")
        self.template = _compile(template) if isinstance(template, str) else None
        self.hoverinfo = trace.get("hoverinfo")

    @property
    def hoverable(self) -> bool:
        """The trace shows a tooltip: lines and bands drawn only as context do not."""
        return self.hoverinfo not in ("skip", "none")

    def _field(self, name: str, member: int | None, spec: str | None,
               index: tuple[int, ...]) -> str:
        """One ``%{...}`` of the tooltip at the point ``index`` (``member``: k of
        ``customdata[k]``)."""
        i = index[-1]
        if name == "x":
            value = self.x[i] if i < len(self.x) else None
        elif name == "y":
            value = self.y[index[0]] if self.z and index[0] < len(self.y) else (
                self.y[i] if i < len(self.y) else None)
        elif name == "z":
            value = _at(self.z, index)
        elif name == "text":
            value = _at(self.text, index)
        elif name == "fullData.name":
            value = self.name
        elif name == "customdata":
            value = _at(self.custom, index)
            if member is not None and isinstance(value, list):
                value = value[member] if member < len(value) else None
        else:
            return ""
        if name in ("x", "y", "z"):
            return _format(value, spec)
        return "" if _missing(value) or value == "" else _format(value, spec)

    def point(self, index: tuple[int, ...]) -> list[str]:
        """The lines of the tooltip at ``index`` (a point, or a heatmap's row and column)."""
        if self.hoverinfo == "text":
            return _lines(str(_at(self.text, index) or ""))
        if self.template is None:
            value = _at(self.z, index) if self.z else self.value(index[-1])
            return [_format(value, None)]
        lines = []
        for parts in self.template:
            text = "".join(part if isinstance(part, str) else self._field(*part, index)
                           for part in parts)
            if "<" in text:  # a value with markup of its own (a text with line breaks)
                lines += _lines(text)
            elif text := " ".join(text.split()):
                lines.append(text)
        return lines

    def value(self, i: int) -> Any:
        """The point's value: x of a horizontal chart, y otherwise."""
        values = self.x if self.horizontal else self.y
        return values[i] if i < len(values) else None

    @functools.cached_property
    def horizontal(self) -> bool:
        """Categories on the y axis: horizontal bars, or a dot plot of labelled rows."""
        if self.trace.get("orientation") == "h":
            return True
        return bool(self.y) and all(isinstance(v, str) for v in self.y if v is not None) and not (
            self.x and all(isinstance(v, str) for v in self.x if v is not None))

    @functools.cached_property
    def categories(self) -> list | None:
        """The trace's category per point, or None when both axes are numbers."""
        values = self.y if self.horizontal else self.x
        if values and all(isinstance(v, str) for v in values if v is not None):
            return values
        if values and self.kind == "bar":
            return values
        # Whole numbers on x (months, lags) read as categories too.
        if values and not self.horizontal and all(isinstance(v, int) for v in values):
            return values
        return None


def _axis_title(layout: dict, axis: str) -> str:
    """An axis's title text, or ""."""
    title = (layout.get(axis) or {}).get("title")
    if isinstance(title, dict):
        title = title.get("text")
    return _plain(str(title or ""))


def _without(lines: list[str], *headers: str, value: str = NO_VALUE) -> str:
    """A cell's text: the tooltip's lines, less what only repeats the row's or the column's
    header: a line that is a header ("Week of 2026-06-01"), or a line's lead-in that names it
    ("Week of 2026-06-01: 45%" keeps "45%"); ``value`` when nothing else is left."""
    kept = []
    for line in lines:
        # A header may itself hold ": " (a module's title): try it whole first.
        whole = next((h for h in headers if h and (line == h or line.startswith(h + ": "))), None)
        if whole is not None:
            if line != whole:
                kept.append(line[len(whole) + 2:])
            continue
        head, colon, rest = line.partition(": ")
        named = next((h for h in headers if h and head.endswith(h)
                      and len(head) <= len(h) + LEAD_IN), None)
        if named is None:
            kept.append(line)
        elif colon and rest:
            kept.append(rest)
    return "; ".join(kept) if kept else value


def _table(caption: str | None, headers: list[str], rows: list[list[str]], total: int) -> list:
    """The table (at most its first ``MAX_ROWS`` rows) and, when ``total`` is more than it
    shows, a line saying so."""
    shown = rows[:MAX_ROWS]
    children: list = []
    if caption:
        children.append(html.Caption(caption))
    children += [
        html.Thead(html.Tr([html.Th(h, scope="col") for h in headers])),
        html.Tbody([html.Tr([html.Th(r[0], scope="row"), *(html.Td(c) for c in r[1:])])
                    for r in shown]),
    ]
    out: list = [html.Table(children, className="table table-sm chart-data")]
    if total > len(shown):
        out.append(html.P(f"The first {len(shown):,} of {total:,} rows; the CSV download has "
                          "them all.", className="small text-body-secondary"))
    return out


def _heatmap(trace: _Trace, caption: str | None, rows_title: str) -> list:
    """A heatmap as its own grid: its rows, its columns, a tooltip per cell."""
    columns = [str(x) for x in trace.x]
    rows = []
    # A page of cells, not a page of rows: a region's teams × a year of weeks is thousands.
    shown = max(1, min(MAX_ROWS, MAX_CELLS // max(len(columns), 1)))
    for r, label in enumerate(trace.y[:shown]):
        row_header = _plain(str(label))
        rows.append([row_header, *(_without(trace.point((r, c)), row_header, columns[c])
                                   for c in range(len(columns)))])
    return _table(caption, [rows_title, *columns], rows, len(trace.y))


def _by_category(traces: list[_Trace], caption: str | None, layout: dict, rows_title: str) -> list:
    """Bar and line charts: a row per category, a column per series."""
    axis = "yaxis" if traces[0].horizontal else "xaxis"
    value_axis = "xaxis" if axis == "yaxis" else "yaxis"
    spec = (layout.get(value_axis) or {}).get("tickformat")
    order: dict[Any, None] = {}
    cells: list[dict[Any, str]] = []
    for trace in traces:
        by_category: dict[Any, str] = {}
        for i, category in enumerate(trace.categories or []):
            if category is None:
                continue
            order.setdefault(category, None)
            header = _plain(str(category))
            # No mark, no tooltip: a gap in a line, a week nobody was licensed.
            by_category[category] = (
                NO_VALUE if _missing(trace.value(i))
                else _without(trace.point((i,)), header, trace.name,
                              value=_format(trace.value(i), spec)))
        cells.append(by_category)
    # The category axis's own order when the chart sets one (the driver chart's items).
    array = (layout.get(axis) or {}).get("categoryarray")
    if array is not None:
        # Every row the axis lists, also one without a mark (its label says why).
        order = dict.fromkeys([*_values(array), *order])
    value_title = _axis_title(layout, value_axis) or "Value"
    names = [t.name or (f"Series {k}" if len(traces) > 1 else value_title)
             for k, t in enumerate(traces, start=1)]
    category_title = _axis_title(layout, axis) or rows_title
    # A series without a point at a category (a target line drawn from its two ends) is blank.
    rows = [[_plain(str(c)), *(cell.get(c, "") for cell in cells)] for c in order]
    return _table(caption, [category_title, *names], rows, len(rows))


def _by_point(traces: list[_Trace], caption: str | None) -> list:
    """Charts of two numbers (scatters): a row per point, numbered."""
    rows = []
    total = 0
    many = len(traces) > 1
    for trace in traces:
        for i in range(max(len(trace.x), len(trace.y))):
            if _missing(trace.x[i] if i < len(trace.x) else None) and _missing(trace.value(i)):
                continue
            total += 1
            # Thousands of points on the large demo: only the rows shown are written out.
            if total <= MAX_ROWS:
                rows.append([str(total), *([trace.name] if many else []),
                             _without(trace.point((i,)))])
    headers = ["Point", *(["Series"] if many else []), "Details"]
    return _table(caption, headers, rows, total)


def _notes(layout: dict) -> list[str]:
    """What is written on the chart itself: messages, and reasons for a missing mark."""
    notes = []
    for annotation in _values(layout.get("annotations")):
        text = _plain(str(annotation.get("text") or ""))
        where = annotation.get("y")
        if not text:
            continue
        notes.append(f"{_plain(where)}: {text}" if isinstance(where, str) and where else text)
    return list(dict.fromkeys(notes))


def chart_table(figure: Any, rows: str | None = None) -> list:
    """The children of a chart's "data as a table": the table and the chart's notes, or only
    the notes (an empty chart's message), or a line saying there is nothing to show.

    ``rows`` heads the rows' column when the chart's category axis has no title."""
    plain = figure.to_plotly_json() if hasattr(figure, "to_plotly_json") else figure
    layout = plain.get("layout") or {}
    title = layout.get("title")
    caption = _plain(str((title.get("text") if isinstance(title, dict) else title) or "")) or None
    traces = [_Trace(t) for t in _values(plain.get("data"))]
    shown = [t for t in traces if t.hoverable and (t.x or t.y or t.z)]
    children: list = []
    heatmaps = [t for t in shown if t.kind == "heatmap"]
    if heatmaps:
        children += _heatmap(heatmaps[0], caption, _axis_title(layout, "yaxis") or rows or ROWS)
    elif shown and all(t.categories is not None for t in shown):
        children += _by_category(shown, caption, layout, rows or ROWS)
    elif shown:
        children += _by_point(shown, caption)
    notes = _notes(layout)
    if notes:
        children.append(html.Ul([html.Li(n) for n in notes], className="small"))
    if not children:
        children.append(html.P("The chart shows no data.", className="small"))
    return children

