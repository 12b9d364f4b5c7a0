"""Forest plots to paste into a paper: label columns, boxes, diamonds, "estimate [95% CI]", weights.

:func:`forest_plot` draws a *forest table* (one row per printed line, top to bottom) and returns a
figure; it computes nothing. Tables come from :mod:`bayes_anlo.report.forest_tables` or are
written by hand. Columns of a forest table:

``kind``
    ``"header"`` (bold label, e.g. a subgroup), ``"study"`` (a box whose *area* is proportional to
    ``weight``, with its interval), ``"pooled"`` (a diamond spanning the interval, with a dotted
    prediction interval when ``pi_low``/``pi_high`` are given), ``"note"`` (italic text across the
    label columns, e.g. the heterogeneity of the block above) or ``"gap"`` (an empty line).
``label``
    Text of the first column (drawn literally: a label is data, never markup).
``paradigm``
    ``"observed"``, ``"frequentist"`` or ``"Bayesian"``: the colour of a row's mark.
``estimate``, ``ci_low``, ``ci_high`` (and ``<prefix>estimate`` ... for every further panel)
    Point estimate and interval; NaN draws nothing and prints "not reported".
``weight`` (optional)
    Percent weight of a study row; printed in the weights column and setting the box area.
``pi_low``, ``pi_high`` (optional)
    Prediction interval of a pooled row (dotted line).
``shrunken``, ``shrunken_low``, ``shrunken_high`` (optional)
    A Bayesian shrunken estimate of a study, drawn as a small circle with its interval under the
    box.
Any further column named in ``columns`` is printed as a label column (e.g. drug, line, n).

Figures are made with :mod:`bayes_anlo.report.canvas` (not tracked by pyplot, texts literal);
:func:`save_figure` writes PNG, SVG and PDF (SVG/PDF keep text as text, escaped).
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import matplotlib
import matplotlib.figure
import matplotlib.ticker
import matplotlib.transforms
import numpy as np
import pandas as pd

from bayes_anlo.report import canvas
from bayes_anlo.report.canvas import line_height, literal_text, new_figure, wrapped

COLOURS = {"observed": "#333333", "frequentist": "#1f77b4", "Bayesian": "#d62728"}
SHRUNKEN = "#d62728"
KINDS = ("header", "study", "pooled", "note", "gap")
#: Side of the largest study box, in points (box area is proportional to weight).
MAX_BOX_POINTS = 11.0
ROW_INCHES = 0.24
FONT_SIZE = 8.0
FORMATS = ("png", "svg", "pdf")


@dataclass(frozen=True)
class Panel:
    """One plotted column of a forest: which estimate columns it reads and how it prints them.

    ``prefix`` selects ``<prefix>estimate``, ``<prefix>ci_low``, ``<prefix>ci_high`` (and
    ``<prefix>pi_*``); ``percent`` prints and scales proportions as percentages; ``reference`` draws
    a dashed vertical line (e.g. a response-rate threshold); ``limits`` fixes the axis range.
    """

    prefix: str = ""
    xlabel: str = "proportion"
    percent: bool = True
    digits: int = 1
    reference: float | None = None
    log: bool = False
    limits: tuple[float, float] | None = None
    header: str = ""

    def column(self, name: str) -> str:
        return f"{self.prefix}{name}"

    def text_header(self) -> str:
        if self.header:
            return self.header
        return "% [95% CI]" if self.percent else "Estimate [95% CI]"

    def fmt(self, x: float) -> str:
        return f"{100 * x:.{self.digits}f}" if self.percent else f"{x:.{self.digits}f}"


def estimate_text(row: pd.Series | dict, panel: Panel = Panel()) -> str:
    """``"42.1 [30.2, 55.0]"`` for a row (percent or natural units), or ``"not reported"``."""
    est = _value(row, panel.column("estimate"))
    low, high = _value(row, panel.column("ci_low")), _value(row, panel.column("ci_high"))
    if not math.isfinite(est):
        return "not reported"
    if not (math.isfinite(low) and math.isfinite(high)):
        return panel.fmt(est)
    return f"{panel.fmt(est)} [{panel.fmt(low)}, {panel.fmt(high)}]"


def box_sizes(weights: Sequence[float], max_points: float = MAX_BOX_POINTS) -> np.ndarray:
    """Marker side (points) per study so that the box *area* is proportional to its weight."""
    w = np.asarray(weights, dtype=float)
    finite = w[np.isfinite(w) & (w > 0)]
    if finite.size == 0:
        return np.full(w.shape, max_points * 0.6)
    side = max_points * np.sqrt(np.where(np.isfinite(w) & (w > 0), w, 0.0) / finite.max())
    return side


def _value(row, name: str) -> float:
    try:
        v = row[name]
    except (KeyError, IndexError):
        return float("nan")
    try:
        return float(v)
    except (TypeError, ValueError):
        return float("nan")


def _check_table(rows: pd.DataFrame, panels: Sequence[Panel], columns) -> None:
    missing = [c for c in ("kind", "label") if c not in rows]
    for p in panels:
        missing += [
            p.column(c) for c in ("estimate", "ci_low", "ci_high") if p.column(c) not in rows
        ]
    missing += [c for c, _ in columns if c not in rows]
    if missing:
        raise ValueError(f"forest table lacks columns: {', '.join(missing)}")
    unknown = sorted(set(rows["kind"].astype(str)) - set(KINDS))
    if unknown:
        raise ValueError(f"forest table: unknown row kinds {unknown}; use {', '.join(KINDS)}")


def _text_width(values, header: str, per_char: float = 0.07, floor: float = 0.45) -> float:
    longest = max([len(str(v)) for v in values] + [len(header)])
    return max(floor, per_char * longest + 0.15)


def _axis_limits(rows: pd.DataFrame, panel: Panel) -> tuple[float, float]:
    if panel.limits is not None:
        return panel.limits
    cols = [panel.column(c) for c in ("ci_low", "ci_high", "estimate", "pi_low", "pi_high")]
    cols += ["shrunken_low", "shrunken_high"] if panel.prefix == "" else []
    values = np.concatenate([rows[c].to_numpy(dtype=float) for c in cols if c in rows])
    values = values[np.isfinite(values)]
    if panel.reference is not None:
        values = np.append(values, panel.reference)
    if values.size == 0:
        return (0.0, 1.0)
    low, high = float(values.min()), float(values.max())
    if panel.log:
        return low / 1.15, high * 1.15
    pad = max(0.04 * (high - low), 0.05 if panel.percent else 0.05 * abs(high) or 0.5)
    low, high = low - pad, high + pad
    if panel.percent:  # a little beyond 0 and 100% so that boxes at the ends are whole
        low, high = max(-0.02, low), min(1.02, high)
    return low, high


@literal_text
def forest_plot(
    rows: pd.DataFrame,
    *,
    columns: Sequence[tuple[str, str]] = (),
    panels: Sequence[Panel] = (Panel(),),
    title: str = "",
    label_header: str = "Study",
    weight_header: str = "Weight",
    notes: Sequence[str] = (),
) -> matplotlib.figure.Figure:
    """Draw a forest table (see the module docstring) as a figure fit for a paper.

    Parameters
    ----------
    rows : DataFrame
        The forest table, top to bottom.
    columns : sequence of (column, header)
        Extra label columns printed after the label (e.g. ``[("drug", "Drug"), ("n", "n")]``).
    panels : sequence of Panel
        The plotted columns, each followed by its "estimate [95% CI]" text column.
    title, label_header, weight_header : str
    notes : sequence of str
        Lines printed under the figure (e.g. the test for subgroup differences, what the intervals
        are).
    """
    rows = rows.reset_index(drop=True)
    columns = [(str(c), str(h)) for c, h in columns]
    panels = list(panels)
    _check_table(rows, panels, columns)
    kinds = rows["kind"].astype(str).to_numpy()
    labels = ["" if pd.isna(v) else str(v) for v in rows["label"]]
    with_weights = "weight" in rows and rows["weight"].notna().any()

    # column widths (inches), left to right
    label_w = min(
        3.4,
        _text_width([lb for lb, k in zip(labels, kinds, strict=True) if k != "note"], label_header),
    )
    extra_w = [_text_width(_cells(rows[c]), h) for c, h in columns]
    text_w = [
        _text_width([estimate_text(r, p) for _, r in rows.iterrows()], p.text_header())
        for p in panels
    ]
    plot_w = 2.5
    weight_w = _text_width(["100.0%"], weight_header) if with_weights else 0.0
    pad = 0.12
    widths = [label_w, *extra_w]
    for tw in text_w:
        widths += [plot_w, tw]
    widths.append(weight_w)
    total_w = sum(widths) + pad * (len(widths) + 1)

    nrows = len(rows)
    # a title longer than the figure is wide is wrapped (measured), with room for its lines
    title_lines = wrapped(str(title), total_w - 2 * pad, 10).split("\n") if title else []
    extra_title = line_height(10) * max(0, len(title_lines) - 1)
    top = 0.3 + (0.3 if title else 0.0) + extra_title + ROW_INCHES * 1.2  # title, column headers
    width_chars = max(40, int(sum([label_w, *extra_w, *text_w, plot_w * len(panels)]) / 0.058))
    notes = [line for note in notes for line in textwrap.wrap(str(note), width_chars) or [""]]
    bottom = 0.5 + 0.17 * len(notes)
    body = ROW_INCHES * max(nrows, 1)
    total_h = top + body + bottom
    fig = new_figure(figsize=(total_w, total_h), dpi=110)

    x = pad
    starts = []
    for w in widths:
        starts.append(x)
        x += w + pad
    fx = [s / total_w for s in starts]
    fw = [w / total_w for w in widths]
    y0, yh = bottom / total_h, body / total_h

    axes = []
    n_label_cols = 1 + len(columns)
    for i, panel in enumerate(panels):
        col = n_label_cols + 2 * i
        ax = fig.add_axes((fx[col], y0, fw[col], yh))
        _draw_panel(ax, rows, kinds, panel, nrows)
        axes.append(ax)
    ref = axes[0]
    trans = matplotlib.transforms.blended_transform_factory(fig.transFigure, ref.transData)
    header_y = nrows - 0.5 + 0.9

    def text(col_x, y, s, **kw):
        fig.text(col_x, y, s, transform=trans, va="center", fontsize=FONT_SIZE, **kw)

    text(fx[0], header_y, label_header, fontweight="bold")
    for j, (_, h) in enumerate(columns):
        text(fx[1 + j], header_y, h, fontweight="bold")
    for i, panel in enumerate(panels):
        col = n_label_cols + 2 * i + 1
        text(fx[col] + fw[col], header_y, panel.text_header(), fontweight="bold", ha="right")
    if with_weights:
        text(fx[-1] + fw[-1], header_y, weight_header, fontweight="bold", ha="right")

    for r, kind in enumerate(kinds):
        y = nrows - 1 - r
        row = rows.iloc[r]
        if kind == "gap":
            continue
        if kind == "note":
            text(fx[0] + 0.01, y, labels[r], fontstyle="italic", color="#444444")
            continue
        weight = "bold" if kind in ("header", "pooled") else "normal"
        indent = 0.0 if kind == "header" else 0.012
        text(fx[0] + indent, y, labels[r], fontweight=weight)
        if kind == "header":
            continue
        for j, (c, _) in enumerate(columns):
            text(fx[1 + j], y, _cells(pd.Series([row[c]]))[0])
        for i, panel in enumerate(panels):
            col = n_label_cols + 2 * i + 1
            text(fx[col] + fw[col], y, estimate_text(row, panel), ha="right", fontweight=weight)
        if with_weights and kind == "study" and math.isfinite(_value(row, "weight")):
            text(fx[-1] + fw[-1], y, f"{_value(row, 'weight'):.1f}%", ha="right")

    if title:
        fig.text(
            0.5,
            1 - (0.22 + extra_title / 2) / total_h,
            "\n".join(title_lines),
            ha="center",
            va="center",
            fontsize=10,
        )
    for k, note in enumerate(notes):
        fig.text(pad / total_w, (0.14 + 0.17 * (len(notes) - 1 - k)) / total_h, note, fontsize=7.5)
    return fig


def _cells(series: pd.Series) -> list[str]:
    out = []
    for v in series:
        if v is None or (isinstance(v, float) and math.isnan(v)):
            out.append("")
        elif isinstance(v, float | np.floating) and float(v).is_integer():
            out.append(str(int(v)))
        else:
            out.append(str(v))
    return out


def _draw_panel(ax, rows: pd.DataFrame, kinds: np.ndarray, panel: Panel, nrows: int) -> None:
    low, high = _axis_limits(rows, panel)
    sizes = (
        box_sizes(rows["weight"].where(pd.Series(kinds == "study")))
        if "weight" in rows and rows["weight"].notna().any()
        else np.full(nrows, MAX_BOX_POINTS * 0.6)
    )
    for r, kind in enumerate(kinds):
        y = nrows - 1 - r
        row = rows.iloc[r]
        est = _value(row, panel.column("estimate"))
        lo, hi = _value(row, panel.column("ci_low")), _value(row, panel.column("ci_high"))
        colour = COLOURS.get(str(row.get("paradigm", "observed")), COLOURS["observed"])
        if kind == "study" and math.isfinite(est):
            shrunk = panel.prefix == "" and math.isfinite(_value(row, "shrunken"))
            dy = 0.14 if shrunk else 0.0
            if math.isfinite(lo) and math.isfinite(hi):
                ax.plot([lo, hi], [y + dy] * 2, color=colour, lw=1.0, solid_capstyle="butt")
            ax.plot(est, y + dy, "s", color=colour, ms=max(float(sizes[r]), 0.5), mew=0)
            if shrunk:
                s_lo, s_hi = _value(row, "shrunken_low"), _value(row, "shrunken_high")
                ax.plot([s_lo, s_hi], [y - 0.16] * 2, color=SHRUNKEN, lw=0.9)
                ax.plot(_value(row, "shrunken"), y - 0.16, "o", color=SHRUNKEN, ms=3.2, mew=0)
        elif kind == "pooled" and math.isfinite(est) and math.isfinite(lo):
            p_lo, p_hi = _value(row, panel.column("pi_low")), _value(row, panel.column("pi_high"))
            if math.isfinite(p_lo) and math.isfinite(p_hi):
                ax.plot([p_lo, p_hi], [y, y], color=colour, lw=1.0, ls=":")
            ax.fill([lo, est, hi, est], [y, y + 0.3, y, y - 0.3], color=colour, lw=0)
    if panel.reference is not None:
        ax.axvline(panel.reference, color="#888888", lw=0.8, ls="--")
    if panel.log:
        ax.set_xscale("log")
    ax.set_xlim(low, high)
    ax.set_ylim(-0.5, nrows - 0.5)
    ax.set_yticks([])
    for side in ("left", "right", "top"):
        ax.spines[side].set_visible(False)
    ax.tick_params(axis="x", labelsize=7.5)
    if panel.percent:
        ax.xaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(xmax=1, decimals=0))
    ax.set_xlabel(panel.xlabel, fontsize=8)
    ax.patch.set_alpha(0)


def save_figure(
    fig: matplotlib.figure.Figure,
    stem: str | Path,
    formats: Sequence[str] = FORMATS,
    *,
    png_dpi: float | None = None,
) -> list[Path]:
    """Write ``fig`` as ``stem.png``, ``stem.svg``, ``stem.pdf`` (those in ``formats``), texts
    literal; SVG keeps text as (escaped) text, PDF embeds TrueType (Type 42) fonts, as journals
    ask (no Type 3 fonts; about 1 s of CPU per PDF for the font subsetting); the PNG at
    ``png_dpi`` (default the figure's). Closes the figure and returns the paths written."""
    stem = Path(stem)
    unknown = [f for f in formats if f not in FORMATS]
    if unknown:
        raise ValueError(f"formats must be among {', '.join(FORMATS)}, not {unknown}")
    drawn = canvas.draw(fig, formats, trim=True, png_dpi=png_dpi)
    paths = []
    for fmt, data in drawn.items():
        path = stem.with_name(f"{stem.name}.{fmt}")
        path.write_bytes(data)
        paths.append(path)
    return paths
