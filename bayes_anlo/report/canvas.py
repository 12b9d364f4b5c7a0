"""Figures that draw every text literally and are never left open.

Every figure function of the report draws through this module:

* :func:`new_figure` makes a :class:`matplotlib.figure.Figure` that pyplot does not track, so a
  run that builds dozens of figures before saving them leaves none open (no "More than 20 figures"
  warning, no memory held by pyplot), while notebooks still display the returned figure;
* :func:`literal_text` (a decorator for figure functions) builds the figure with
  ``text.parse_math`` off and then marks every text artist of the figure literal, so a study label
  such as ``Li 2020 ($$)`` or ``a_b^c \\d`` is drawn as typed, never parsed as mathtext;
* :func:`render` draws a figure to PNG (SVG, PDF) bytes with the same settings, :func:`draw` to
  several formats and closes it, and :func:`save` writes the PNG and closes the figure;
* :class:`FigureRecipe` is a figure not built yet: a figure function and its arguments (tables,
  arrays, text), which a run hands to the process that draws it (report/figure_pool.py), so the
  process that fits spends no time laying figures out; :func:`built` gives the figure.

Nothing here changes matplotlib's global state: user figures in the same session keep mathtext.
"""

from __future__ import annotations

import functools
import io
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import matplotlib
import matplotlib.figure
import matplotlib.font_manager
import matplotlib.text
from matplotlib.backends.backend_agg import FigureCanvasAgg, RendererAgg

#: rcParams under which every figure of the project is built and saved (with
#: :func:`fallback_families`: see :func:`figure_rc`).
LITERAL_TEXT = {"text.parse_math": False, "text.usetex": False}
#: Font families for the characters matplotlib's default font (DejaVu Sans) lacks, chiefly
#: Chinese, Japanese and Korean study labels and titles, in the order they are tried: the Noto
#: and Source Han families (Linux, and installable anywhere), WenQuanYi (Debian, Ubuntu), then
#: the families of Windows and macOS. Only those installed are used (:func:`fallback_families`).
FALLBACK_FAMILIES = (
    "Noto Sans CJK SC",
    "Noto Sans CJK JP",
    "Noto Sans CJK KR",
    "Noto Sans CJK TC",
    "Source Han Sans SC",
    "Source Han Sans",
    "WenQuanYi Micro Hei",
    "WenQuanYi Zen Hei",
    "Microsoft YaHei",
    "SimHei",
    "Yu Gothic",
    "Malgun Gothic",
    "PingFang SC",
    "Hiragino Sans",
    "Apple SD Gothic Neo",
    "Arial Unicode MS",
)
#: zlib level of the PNGs written by :func:`save`: the same pixels as Pillow's default (6) in
#: about two thirds of the encoding time, and files no larger for these figures.
PNG_COMPRESS_LEVEL = 3
#: rcParams added for publication figures: SVG keeps text as (escaped) text, PDF embeds TrueType
#: (Type 42) fonts, as journals ask (no Type 3 fonts).
PUBLICATION_RC = {"svg.fonttype": "none", "pdf.fonttype": 42}


@dataclass(frozen=True)
class FigureRecipe:
    """A figure to build: ``function(*args, **kwargs)``, where ``function`` is a figure function
    of the report layer (module level, so a recipe pickles with its arguments)."""

    function: Callable[..., matplotlib.figure.Figure]
    args: tuple = ()
    kwargs: dict = field(default_factory=dict)

    def build(self) -> matplotlib.figure.Figure:
        return self.function(*self.args, **self.kwargs)


def recipe(function: Callable[..., matplotlib.figure.Figure], *args, **kwargs) -> FigureRecipe:
    """``function(*args, **kwargs)``, to be built where it is drawn."""
    return FigureRecipe(function, args, kwargs)


def built(figure: matplotlib.figure.Figure | FigureRecipe) -> matplotlib.figure.Figure:
    """The figure itself, or the one a recipe builds."""
    return figure.build() if isinstance(figure, FigureRecipe) else figure


def make_literal(fig: matplotlib.figure.Figure) -> matplotlib.figure.Figure:
    """Mark every text artist of ``fig`` literal (no mathtext), including tick labels made so
    far."""
    for text in fig.findobj(matplotlib.text.Text):
        text.set_parse_math(False)
        text.set_usetex(False)
    return fig


def fallback_families() -> list[str]:
    """The installed families of :data:`FALLBACK_FAMILIES`, in its order (a family that is not
    installed would only make matplotlib log "font family not found" for every text)."""
    installed = {entry.name for entry in matplotlib.font_manager.fontManager.ttflist}
    return [family for family in FALLBACK_FAMILIES if family in installed]


def figure_rc(extra: dict | None = None) -> dict:
    """The rcParams a figure is built and drawn under: :data:`LITERAL_TEXT`, and the session's
    font families followed by :func:`fallback_families`, so that matplotlib draws each character
    from the first of them that has it (a label in Chinese is drawn in a CJK font, not as empty
    boxes; where no such font is installed the boxes remain)."""
    families = list(matplotlib.rcParams["font.family"])
    fallbacks = [family for family in fallback_families() if family not in families]
    return {**LITERAL_TEXT, "font.family": families + fallbacks, **(extra or {})}


def new_figure(
    *, figsize: tuple[float, float], dpi: float = 110, layout: str | None = None
) -> matplotlib.figure.Figure:
    """A figure not tracked by pyplot (call inside a :func:`literal_text` function).

    It gets an Agg canvas from the start, so ``tight_layout`` while it is built and :func:`save`
    later use the same renderer (texts already laid out are not laid out again for the layout).
    """
    fig = matplotlib.figure.Figure(figsize=figsize, dpi=dpi, layout=layout)
    FigureCanvasAgg(fig)
    return fig


def _text_width(text: str, props, dpi: float) -> float:
    """Width of ``text`` in inches as Agg draws it at ``dpi`` (literal text, no mathtext; glyph
    advances are hinted to whole pixels, so a width depends on the dpi it is drawn at)."""
    renderer = _measuring_renderer(float(dpi))
    width, _, _ = renderer.get_text_width_height_descent(text, props, ismath=False)
    return width / renderer.dpi


@functools.lru_cache(maxsize=4)
def _measuring_renderer(dpi: float) -> RendererAgg:
    return RendererAgg(1, 1, dpi)


def wrapped(text: str, width_inches: float, fontsize: float, dpi: float = 110) -> str:
    """``text`` broken into lines no wider than ``width_inches`` at ``fontsize`` points, as Agg
    measures them (a figure title built from a long analysis title would otherwise run past the
    figure's edge and be cut): at spaces where it can, and inside a word only where one word is
    wider than the line (a long identifier, or CJK text, which has no spaces). ``dpi`` is the
    figure's (the project's figures are drawn at 110). Widths are those of the figure's fonts
    (:func:`figure_rc`), wherever this is called from."""
    props = matplotlib.font_manager.FontProperties(family=figure_rc()["font.family"], size=fontsize)
    limit = max(width_inches, 0.5)

    def fits(line: str) -> bool:
        return _text_width(line, props, dpi) <= limit

    lines = []
    for paragraph in text.split("\n"):
        line = ""
        for word in paragraph.split(" "):
            candidate = f"{line} {word}" if line else word
            if not line or fits(candidate):
                line = candidate
                continue
            lines.append(line)
            line = word
        lines.append(line)
    out = []
    for line in lines:  # a line still too wide is one long word: break it between characters
        while len(line) > 1 and not fits(line):
            low, high = 1, len(line) - 1  # the longest prefix that fits (at least one character)
            while low < high:
                mid = (low + high + 1) // 2
                low, high = (mid, high) if fits(line[:mid]) else (low, mid - 1)
            out.append(line[:low])
            line = line[low:]
        out.append(line)
    return "\n".join(out)


def line_height(fontsize: float) -> float:
    """Inches a line of text at ``fontsize`` points takes (matplotlib's line spacing, 1.2)."""
    return 1.2 * fontsize / 72


def suptitle(fig: matplotlib.figure.Figure, title: str, fontsize: float) -> None:
    """``fig.suptitle`` with ``title`` wrapped to the figure's width, the figure made taller by
    the lines the wrapping added (so the panels keep their size)."""
    text = wrapped(title, fig.get_figwidth() - 0.4, fontsize, fig.dpi)
    extra = text.count("\n") - title.count("\n")
    if extra > 0:
        fig.set_figheight(fig.get_figheight() + extra * line_height(fontsize))
    fig.suptitle(text, fontsize=fontsize)


def tight_layout(fig: matplotlib.figure.Figure, *, pad_inches: float = 0.1, **kwargs) -> None:
    """``fig.tight_layout(**kwargs)``, with each axes title that would run past the figure's edge
    wrapped onto more lines (an axes title is centred on its axes, so it has twice the distance
    from the axes' centre to the nearer figure edge, less ``pad_inches`` on each side); the
    figure is then made taller by the lines added (so the axes keep their size, and what is
    placed relative to them, such as a legend below, stays clear) and laid out again."""
    fig.tight_layout(**kwargs)
    fig_width = fig.get_figwidth()
    extra = 0.0
    for ax in fig.axes:
        text = ax.title.get_text()
        if not text:
            continue
        box = ax.get_position()
        centre = (box.x0 + box.x1) / 2 * fig_width
        room = 2 * min(centre, fig_width - centre) - 2 * pad_inches
        fitted = wrapped(text, room, ax.title.get_fontsize(), fig.dpi)
        if fitted != text:
            ax.title.set_text(fitted)
            added = fitted.count("\n") - text.count("\n")
            extra = max(extra, added * line_height(ax.title.get_fontsize()))
    if extra > 0:
        fig.set_figheight(fig.get_figheight() + extra)
        fig.tight_layout(**kwargs)


def literal_text(
    func: Callable[..., matplotlib.figure.Figure],
) -> Callable[..., matplotlib.figure.Figure]:
    """Decorator: build the figure with mathtext off and return it with every text literal."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        with matplotlib.rc_context(figure_rc()), warnings.catch_warnings():
            warnings.filterwarnings("ignore", category=UserWarning, module="matplotlib")
            fig = func(*args, **kwargs)
            return make_literal(fig)

    return wrapper


def render(
    fig: matplotlib.figure.Figure, fmt: str = "png", *, trim: bool = False, dpi: float | None = None
) -> bytes:
    """The bytes of ``fig`` drawn as ``fmt`` (png, svg or pdf) with every text literal; the figure
    is left open (:func:`save` closes it).

    By default the figure is drawn once, straight to PNG by its Agg canvas: its layout was fitted
    when it was built (``tight_layout``) or is fitted in that one draw (``layout="constrained"``).
    ``savefig`` would draw it twice (a draw without rendering first, for the layout engine or for
    ``bbox_inches="tight"``), laying out every text again only to trim the margins. With ``trim``
    (publication figures) it is drawn by ``savefig`` with ``bbox_inches="tight"``, SVG text kept
    as (escaped) text and PDF fonts embedded as TrueType (:data:`PUBLICATION_RC`).
    """
    buffer = io.BytesIO()
    rc = figure_rc(PUBLICATION_RC if trim else None)
    with matplotlib.rc_context(rc), warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=UserWarning, module="matplotlib")
        make_literal(fig)
        if trim:
            fig.savefig(buffer, format=fmt, dpi=dpi or fig.dpi, bbox_inches="tight")
        elif fmt == "png":
            agg = fig.canvas if isinstance(fig.canvas, FigureCanvasAgg) else FigureCanvasAgg(fig)
            agg.print_png(buffer, pil_kwargs={"compress_level": PNG_COMPRESS_LEVEL})
        else:
            raise ValueError(f"render: {fmt} is drawn only with trim=True (publication figures)")
    return buffer.getvalue()


def close(fig: matplotlib.figure.Figure) -> None:
    """Close ``fig`` (a no-op for figures pyplot does not track, which :func:`new_figure` makes)."""
    import matplotlib.pyplot as plt

    plt.close(fig)


def draw(
    fig: matplotlib.figure.Figure,
    formats: Sequence[str] = ("png",),
    *,
    trim: bool = False,
    png_dpi: float | None = None,
) -> dict[str, bytes]:
    """``fig`` drawn in each of ``formats`` (:func:`render`; the PNG at ``png_dpi``, default the
    figure's), then closed."""
    try:
        return {
            fmt: render(fig, fmt, trim=trim, dpi=png_dpi if fmt == "png" else None)
            for fmt in formats
        }
    finally:
        close(fig)


def save(fig: matplotlib.figure.Figure, path: str | Path) -> None:
    """Write ``fig`` as a PNG (:func:`render`: texts literal, drawn once) and close it."""
    Path(path).write_bytes(draw(fig)["png"])
