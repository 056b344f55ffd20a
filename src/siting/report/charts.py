"""Static charts with matplotlib: PNG for report.md, SVG (text kept as text) for report.html.

Every chart is :data:`WIDTH` inches wide; its title starts at the figure's left edge and, like
long service names and legend entries, is wrapped (between words, or between Chinese
characters) to fit the figure, so nothing is cut off however long the names are.

Chinese labels need a CJK font. :func:`cjk_font` looks for one among the fonts matplotlib knows
and the system's font files (Noto Sans CJK from Debian's ``fonts-noto-cjk``, Source Han Sans,
WenQuanYi, Microsoft YaHei, SimHei, PingFang ...), or takes the file named by the environment
variable ``SITING_CJK_FONT``; a font counts only if it really has the glyphs. Without one, the
charts switch to English labels and service keys rather than draw empty boxes.
"""

from __future__ import annotations

import io
import math
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import matplotlib as mpl

mpl.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
from matplotlib import font_manager
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.textpath import text_to_path
from matplotlib.ticker import FuncFormatter, MaxNLocator

from siting.report.i18n import Language, has_cjk, money_unit, text

CJK_FAMILIES = (
    "Noto Sans CJK SC",
    "Noto Sans SC",
    "Source Han Sans SC",
    "Source Han Sans CN",
    "WenQuanYi Zen Hei",
    "WenQuanYi Micro Hei",
    "Microsoft YaHei",
    "SimHei",
    "PingFang SC",
    "Hiragino Sans GB",
    "Heiti SC",
    "Noto Sans CJK JP",
    "Noto Sans CJK TC",
    "Droid Sans Fallback",
    "AR PL UMing CN",
)
CJK_FILE = re.compile(
    r"(NotoSansCJK|NotoSansSC|SourceHanSans|wqy|msyh|simhei|PingFang|DroidSansFallback|uming)",
    re.IGNORECASE,
)
PROBE = "菜市场早餐店养老服务快递"
BASE_FAMILY = "DejaVu Sans"

WIDTH = 7.5  # inches
PAD = 8.0  # pixels (at the figure's 100 dpi) between the figure's edge and its title
TITLE_SIZE = 12.0
LABEL_SIZE = 10.0
LEGEND_SIZE = 8.0
LABEL_SHARE = 0.38  # of the figure's width, at most, for the names next to the bars

BEFORE = "#b8c7d9"
AFTER = "#1f5f9e"
ACCENT = "#d55e00"
GRID = "#e3e3e3"


def _has_glyphs(path: str) -> bool:
    try:
        charmap = font_manager.get_font(path).get_charmap()
    except (OSError, RuntimeError, ValueError):
        return False
    return all(ord(c) in charmap for c in PROBE)


@cache
def cjk_font() -> str | None:
    """The family name of a font with Chinese glyphs, registered with matplotlib; or None."""
    override = os.environ.get("SITING_CJK_FONT")
    candidates: list[str] = []
    if override and Path(override).is_file():
        candidates.append(override)
    known = {f.name: f.fname for f in font_manager.fontManager.ttflist}
    candidates += [known[name] for name in CJK_FAMILIES if name in known]
    files = sorted(
        (f for f in font_manager.findSystemFonts() if CJK_FILE.search(Path(f).name)),
        key=lambda f: ("Sans" not in f, "Bold" in f or "Black" in f or "Light" in f, f),
    )
    candidates += files
    for path in candidates:
        if _has_glyphs(path):
            font_manager.fontManager.addfont(path)
            bold = Path(path).with_name(Path(path).name.replace("Regular", "Bold"))
            if bold.name != Path(path).name and bold.is_file():  # bold titles, if installed
                font_manager.fontManager.addfont(str(bold))
            names = [f.name for f in font_manager.fontManager.ttflist if f.fname == path]
            simplified = [n for n in names if n.endswith(" SC") and "Mono" not in n]
            return (simplified or names or [font_manager.FontProperties(fname=path).get_name()])[0]
    return None


def chart_language(language: Language) -> Language:
    """The language charts can be drawn in: Chinese only with a CJK font."""
    return language if language == "en" or cjk_font() else "en"


def drawable(label: str, fallback: str) -> str:
    """``label`` if the charts can draw it, else ``fallback`` (a key)."""
    return label if not has_cjk(label) or cjk_font() else fallback


@dataclass(frozen=True)
class Chart:
    """A finished chart in both formats."""

    name: str
    title: str
    png: bytes
    svg: str


def _style() -> Any:
    # A list of families: matplotlib draws each glyph with the first family that has it.
    # The generic sans-serif comes last so that a browser without these fonts (SVG text is drawn
    # by the browser) falls back to Arial, Helvetica or its own sans-serif, not a serif font.
    family = [BASE_FAMILY] + ([cjk_font()] if cjk_font() else []) + ["sans-serif"]
    return {
        "font.family": family,
        "font.sans-serif": [BASE_FAMILY, "Arial", "Helvetica"],
        "font.size": LABEL_SIZE,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "axes.edgecolor": "#888888",
        "figure.titlesize": TITLE_SIZE,
        "figure.titleweight": "bold",
        "svg.fonttype": "none",
        "svg.hashsalt": "siting",
        "figure.dpi": 100,
    }


# Where a word too long for a line may break: between Chinese characters, opening brackets
# staying with what follows them, closing brackets and punctuation with what precedes them.
_IDEOGRAPHS = "\u3400-\u9fff\uf900-\ufaff"
_OPENING = re.escape("([{（【《「『“‘")
_CLOSING = re.escape(")]}）】》」』”’，。、：；！？,.:;!?%")
_PIECE = re.compile(rf"[{_OPENING}]*(?:[{_IDEOGRAPHS}]|[^{_IDEOGRAPHS}{_OPENING}]+)[{_CLOSING}]*|.")


def wrap(label: str, width: float, size: float, *, weight: str = "normal") -> str:
    """``label`` with line breaks so that no line is wider than ``width`` pixels at 100 dpi.

    Measured with the charts' fonts at ``size`` points. Lines break at spaces; a word wider
    than a line (Chinese has no spaces) also breaks between its Chinese characters. A word
    that cannot break (``express_point``) keeps a line of its own, however wide.
    """

    def fits(line: str) -> bool:
        return text_width(line, size, weight=weight) <= width

    lines = []
    for paragraph in label.split("\n"):
        line = ""
        for word in paragraph.split():
            joined = f"{line} {word}" if line else word
            if fits(joined):
                line = joined
            elif fits(word):
                lines.append(line)
                line = word
            else:  # fill the line, then break between the word's Chinese characters
                separator = " " if line else ""
                for piece in _PIECE.findall(word):
                    if line and not fits(line + separator + piece):
                        lines.append(line)
                        line = piece
                    else:
                        line += separator + piece
                    separator = ""
        lines.append(line)
    return "\n".join(lines)


def text_width(line: str, size: float, *, weight: str = "normal") -> float:
    """The width in pixels (at the charts' 100 dpi) of one line of text in the charts' fonts."""
    with mpl.rc_context(_style()):
        font = FontProperties(size=size, weight=weight)
    points, _, _ = text_to_path.get_text_width_height_descent(line, font, ismath=False)
    return points * 100 / 72


def _figure(title: str, height: float) -> tuple[Figure, Axes]:
    """A figure with one plot and ``title`` at its top left, wrapped to the figure's width.

    The title belongs to the figure, not the plot, so that it starts at the figure's left
    edge whatever the width of the names left of the plot. ``height`` is in inches for a
    one-line title; each further line of the title adds its height.
    """
    shown = wrap(title, WIDTH * 100 - 2 * PAD, TITLE_SIZE, weight="bold")
    extra = shown.count("\n") * TITLE_SIZE * 1.3 / 72
    fig, ax = plt.subplots(figsize=(WIDTH, height + extra))
    fig.suptitle(
        shown,
        x=PAD / (WIDTH * 100),
        y=1 - PAD / (100 * (height + extra)),
        ha="left",
        va="top",
    )
    return fig, ax


def _names(names: Sequence[str]) -> list[str]:
    """Names next to bars, wrapped to at most :data:`LABEL_SHARE` of the figure's width."""
    return [wrap(n, LABEL_SHARE * WIDTH * 100, LABEL_SIZE) for n in names]


def _lines(labels: Sequence[str]) -> int:
    """The most lines any of ``labels`` takes."""
    return max((label.count("\n") + 1 for label in labels), default=1)


def _legend_layout(labels: Sequence[str], most: int) -> tuple[list[str], int]:
    """Legend entries wrapped to fit the figure's width in columns, and how many columns.

    As many columns as fit, up to ``most``; with too little room for even two, entries are
    wrapped to half the width.
    """
    room = WIDTH * 100 - 2 * PAD
    handle = 5.0 * LEGEND_SIZE * 100 / 72  # the marker, its gap and the space between columns
    widest = max((text_width(label, LEGEND_SIZE) for label in labels), default=0.0)
    for columns in range(max(1, min(most, len(labels))), 1, -1):
        if widest <= room / columns - handle:
            return list(labels), columns
    columns = min(2, max(1, len(labels)))
    return [wrap(lb, room / columns - handle, LEGEND_SIZE) for lb in labels], columns


def _finish(fig: Figure, name: str, title: str) -> Chart:
    fig.tight_layout()
    png = io.BytesIO()
    fig.savefig(png, format="png", dpi=150, metadata={"Software": None})
    svg = io.StringIO()
    fig.savefig(svg, format="svg", metadata={"Date": None, "Creator": None})
    plt.close(fig)
    markup = svg.getvalue()
    markup = markup[markup.index("<svg") :]
    # Responsive: keep the viewBox, let CSS size the picture.
    markup = re.sub(r'<svg([^>]*?) width="[^"]*" height="[^"]*"', r"<svg\1", markup, count=1)
    return Chart(name=name, title=title, png=png.getvalue(), svg=markup)


def _height(rows: float, lines: float = 1) -> float:
    """Inches for ``rows`` bars whose names take up to ``lines`` lines each."""
    return 1.2 + max(rows, 1) * max(0.45, 0.2 * lines + 0.12)


def coverage_chart(
    names: Sequence[str],
    before: Sequence[float],
    after: Sequence[float],
    *,
    target_pct: float | None,
    language: Language,
) -> Chart:
    """Horizontal bars: share covered per service before and after the plan, with the target."""
    title = text("coverage_by_service", language)
    with mpl.rc_context(_style()):
        shown = _names(names)
        fig, ax = _figure(title, _height(2 * len(names), _lines(shown) / 2) + 0.25)
        y = np.arange(len(names))[::-1]
        ax.barh(y + 0.2, before, height=0.38, color=BEFORE, label=text("before", language))
        ax.barh(y - 0.2, after, height=0.38, color=AFTER, label=text("after", language))
        for yy, b, a in zip(y, before, after, strict=True):
            ax.text(b + 1, yy + 0.2, f"{b:.1f}%", va="center", fontsize=8, color="#555555")
            ax.text(a + 1, yy - 0.2, f"{a:.1f}%", va="center", fontsize=8, color=AFTER)
        if target_pct is not None:
            ax.axvline(target_pct, color=ACCENT, linestyle="--", linewidth=1)
            ax.text(
                target_pct,
                len(names) - 0.45,
                f" {text('target', language)} {target_pct:g}%",
                color=ACCENT,
                fontsize=8,
                va="bottom",
            )
        ax.set_yticks(y, shown)
        ax.set_xlim(0, 108)
        ax.set_ylim(-0.7, len(names) - 0.1)
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:.0f}%"))
        ax.grid(axis="x", color=GRID)
        ax.set_axisbelow(True)
        ax.legend(
            loc="lower right", bbox_to_anchor=(1, 1), ncol=2, frameon=False, fontsize=LEGEND_SIZE
        )
        return _finish(fig, "coverage", title)


def bar_chart(
    name: str,
    title: str,
    names: Sequence[str],
    values: Sequence[float],
    *,
    formatter: FuncFormatter | None = None,
    value_labels: Sequence[str] | None = None,
    colour: str = AFTER,
) -> Chart:
    """Horizontal bars with value labels (residents gained, costs)."""
    with mpl.rc_context(_style()):
        shown_names = _names(names)
        fig, ax = _figure(title, _height(len(names), _lines(shown_names)))
        y = np.arange(len(names))[::-1]
        ax.barh(y, values, height=0.6, color=colour)
        top = max(values, default=0) or 1
        shown = value_labels or [f"{v:,.0f}" for v in values]
        for yy, v, label in zip(y, values, shown, strict=True):
            ax.text(v + top * 0.01, yy, label, va="center", fontsize=8)
        ax.set_yticks(y, shown_names)
        ax.set_xlim(0, top * 1.22)
        ax.xaxis.set_major_locator(MaxNLocator(nbins=6))  # wide tick labels: 1,500,000
        if formatter:
            ax.xaxis.set_major_formatter(formatter)
        ax.grid(axis="x", color=GRID)
        ax.set_axisbelow(True)
        return _finish(fig, name, title)


def circle_chart(
    reached_before: Sequence[float], reached_after: Sequence[float], *, language: Language
) -> Chart:
    """Two stacked bars: residents by how many of the K services they reach, before and after."""
    title = text("complete_circle", language)
    K = len(reached_before) - 1
    total = sum(reached_before) or 1.0
    colours = plt.get_cmap("Blues")(np.linspace(0.15, 0.95, K + 1))
    with mpl.rc_context(_style()):
        fig, ax = _figure(title, 2.6)
        rows = [
            (text("after", language), reached_after),
            (text("before", language), reached_before),
        ]
        for y, (_, values) in enumerate(rows):
            left = 0.0
            for n, v in enumerate(values):
                share = 100 * v / total
                ax.barh(
                    y,
                    share,
                    left=left,
                    color=colours[n],
                    height=0.6,
                    label=str(n) if y == 0 else None,
                )
                if share >= 4:
                    ax.text(
                        left + share / 2,
                        y,
                        f"{share:.0f}%",
                        ha="center",
                        va="center",
                        fontsize=8,
                        color="white" if n > K / 2 else "#333333",
                    )
                left += share
        ax.set_yticks([0, 1], [r[0] for r in rows])
        ax.set_xlim(0, 100)
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:.0f}%"))
        ax.legend(
            title=text("services_reached", language),
            ncol=K + 1,
            loc="upper center",
            bbox_to_anchor=(0.5, -0.25),
            frameon=False,
            fontsize=8,
            title_fontsize=8,
        )
        return _finish(fig, "complete_circle", title)


def grouped_chart(
    name: str,
    title: str,
    names: Sequence[str],
    series: Sequence[tuple[str, Sequence[float]]],
    *,
    target_pct: float | None = None,
    colours: Sequence[str] | None = None,
) -> Chart:
    """Horizontal grouped bars: one group per service, one bar per alternative (percent).

    A NaN value draws no bar (an alternative without that service).
    """
    with mpl.rc_context(_style()):
        shown = _names(names)
        entries, columns = _legend_layout([label for label, _ in series], most=4)
        per_service = 0.7 * max(1, len(series))  # rows of bars
        legend_rows = math.ceil(len(entries) / columns) * _lines(entries)
        inches = _height(len(names) * per_service, _lines(shown) / per_service)
        fig, ax = _figure(title, inches + 0.17 * legend_rows)
        y = np.arange(len(names))[::-1]
        height = 0.8 / max(1, len(series))
        palette = list(colours or plt.get_cmap("tab10")(np.arange(len(series))))
        for i, ((_, values), label) in enumerate(zip(series, entries, strict=True)):
            offset = 0.4 - height * (i + 0.5)
            colour = palette[i % len(palette)]
            ax.barh(y + offset, values, height=height * 0.92, color=colour, label=label)
            for yy, v in zip(y, values, strict=True):
                if math.isfinite(v):  # NaN: the alternative lacks the service
                    ax.text(v + 1, yy + offset, f"{v:.1f}%", va="center", fontsize=7)
        if target_pct is not None:
            ax.axvline(target_pct, color=ACCENT, linestyle="--", linewidth=1)
        ax.set_yticks(y, shown)
        ax.set_xlim(0, 110)
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:.0f}%"))
        ax.grid(axis="x", color=GRID)
        ax.set_axisbelow(True)
        ax.legend(
            loc="lower right",
            bbox_to_anchor=(1, 1),
            ncol=columns,
            frameon=False,
            fontsize=LEGEND_SIZE,
        )
        return _finish(fig, name, title)


def curve_chart(
    name: str,
    title: str,
    x: Sequence[float],
    lines: Sequence[tuple[str, Sequence[float]]],
    *,
    xlabel: str,
    ylabel: str,
    marker_x: float | None = None,
    bars: tuple[str, Sequence[float]] | None = None,
    x_formatter: FuncFormatter | None = None,
) -> Chart:
    """Lines over a swept parameter (coverage per service), optional bars on a second axis."""
    with mpl.rc_context(_style()):
        entries, columns = _legend_layout([label for label, _ in lines], most=3)
        legend_rows = math.ceil(len(entries) / columns) * _lines(entries)
        fig, ax = _figure(title, 4.0 + 0.17 * legend_rows)
        if bars is not None and len(x) > 1:
            twin = ax.twinx()
            width = 0.6 * float(np.min(np.diff(np.asarray(x, dtype=float)))) if len(x) > 1 else 1
            twin.bar(x, bars[1], width=width, color="#dddddd", label=bars[0], zorder=0)
            twin.set_ylabel(bars[0], color="#777777", fontsize=8)
            twin.tick_params(axis="y", colors="#777777", labelsize=8)
            twin.spines["right"].set_visible(True)
            ax.set_zorder(twin.get_zorder() + 1)
            ax.patch.set_visible(False)
        colours = plt.get_cmap("tab10")(np.arange(len(lines)))
        for i, ((_, values), label) in enumerate(zip(lines, entries, strict=True)):
            ax.plot(x, values, marker="o", markersize=4, color=colours[i], label=label)
        if marker_x is not None:
            ax.axvline(marker_x, color=ACCENT, linestyle="--", linewidth=1)
        if x_formatter is not None:
            ax.xaxis.set_major_formatter(x_formatter)
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        ax.grid(color=GRID)
        ax.set_axisbelow(True)
        ax.legend(
            loc="upper center",
            bbox_to_anchor=(0.5, -0.16),
            ncol=columns,
            frameon=False,
            fontsize=LEGEND_SIZE,
        )
        return _finish(fig, name, title)


def count_formatter() -> FuncFormatter:
    """Axis ticks with thousands separators: ``200,000``."""
    return FuncFormatter(lambda v, _: f"{v:,.0f}")


def money_formatter(language: Language, currency: str, *, top: float = 0.0) -> FuncFormatter:
    """Axis ticks for money: ``150万`` (Chinese) or ``1,500k`` (English); plain below 10,000.

    The currency (``元`` for CNY in Chinese, else its code, e.g. ``EUR``) is written once, at
    the end of the axis (the axis' offset text).
    """
    if abs(top) < 10_000:
        formatter = count_formatter()
    elif language == "zh":
        formatter = FuncFormatter(lambda v, _: f"{v / 10_000:,.0f}万" if v else "0")
    else:
        formatter = FuncFormatter(lambda v, _: f"{v / 1_000:,.0f}k" if v else "0")
    formatter.set_offset_string(money_unit(language, currency))
    return formatter
