"""Static charts with matplotlib: PNG for report.md, SVG (text kept as text) for report.html.

Chinese labels need a CJK font. :func:`cjk_font` looks for one among the fonts matplotlib knows
and the system's font files (Noto Sans CJK from Debian's ``fonts-noto-cjk``, Source Han Sans,
WenQuanYi, Microsoft YaHei, SimHei, PingFang ...), or takes the file named by the environment
variable ``SITING_CJK_FONT``; a font counts only if it really has the glyphs. Without one, the
charts switch to English labels and service keys rather than draw empty boxes.
"""

from __future__ import annotations

import io
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
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from siting.report.i18n import Language, has_cjk, text

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
    family = [BASE_FAMILY] + ([cjk_font()] if cjk_font() else [])
    return {
        "font.family": family,
        "font.size": 10,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "axes.edgecolor": "#888888",
        "axes.titlesize": 12,
        "axes.titleweight": "bold",
        "axes.titlelocation": "left",
        "svg.fonttype": "none",
        "svg.hashsalt": "siting",
        "figure.dpi": 100,
    }


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


def _height(rows: float) -> float:
    return 1.2 + 0.45 * max(rows, 1)


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
        fig, ax = plt.subplots(figsize=(7.5, _height(2 * len(names))))
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
        ax.set_yticks(y, list(names))
        ax.set_xlim(0, 108)
        ax.set_ylim(-0.7, len(names) - 0.1)
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:.0f}%"))
        ax.grid(axis="x", color=GRID)
        ax.set_axisbelow(True)
        ax.legend(loc="lower right", frameon=False, fontsize=8)
        ax.set_title(title)
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
        fig, ax = plt.subplots(figsize=(7.5, _height(len(names))))
        y = np.arange(len(names))[::-1]
        ax.barh(y, values, height=0.6, color=colour)
        top = max(values, default=0) or 1
        shown = value_labels or [f"{v:,.0f}" for v in values]
        for yy, v, label in zip(y, values, shown, strict=True):
            ax.text(v + top * 0.01, yy, label, va="center", fontsize=8)
        ax.set_yticks(y, list(names))
        ax.set_xlim(0, top * 1.22)
        if formatter:
            ax.xaxis.set_major_formatter(formatter)
        ax.grid(axis="x", color=GRID)
        ax.set_axisbelow(True)
        ax.set_title(title)
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
        fig, ax = plt.subplots(figsize=(7.5, 2.6))
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
        ax.set_title(title)
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
    """Horizontal grouped bars: one group per service, one bar per alternative (percent)."""
    with mpl.rc_context(_style()):
        fig, ax = plt.subplots(figsize=(7.5, _height(len(names) * max(1, len(series)) * 0.7)))
        y = np.arange(len(names))[::-1]
        height = 0.8 / max(1, len(series))
        palette = list(colours or plt.get_cmap("tab10")(np.arange(len(series))))
        for i, (label, values) in enumerate(series):
            offset = 0.4 - height * (i + 0.5)
            colour = palette[i % len(palette)]
            ax.barh(y + offset, values, height=height * 0.92, color=colour, label=label)
            for yy, v in zip(y, values, strict=True):
                ax.text(v + 1, yy + offset, f"{v:.1f}%", va="center", fontsize=7)
        if target_pct is not None:
            ax.axvline(target_pct, color=ACCENT, linestyle="--", linewidth=1)
        ax.set_yticks(y, list(names))
        ax.set_xlim(0, 110)
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:.0f}%"))
        ax.grid(axis="x", color=GRID)
        ax.set_axisbelow(True)
        ax.legend(loc="lower right", frameon=False, fontsize=8)
        ax.set_title(title)
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
        fig, ax = plt.subplots(figsize=(7.5, 4.2 + 0.2 * ((len(lines) + 2) // 3)))
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
        for i, (label, values) in enumerate(lines):
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
            loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=3, frameon=False, fontsize=8
        )
        ax.set_title(title)
        return _finish(fig, name, title)


def count_formatter() -> FuncFormatter:
    """Axis ticks with thousands separators: ``200,000``."""
    return FuncFormatter(lambda v, _: f"{v:,.0f}")


def money_formatter(language: Language, *, top: float = 0.0) -> FuncFormatter:
    """Axis ticks in 万元 (Chinese) or thousands of CNY (English); plain below 10,000."""
    if abs(top) < 10_000:
        return count_formatter()
    if language == "zh":
        return FuncFormatter(lambda v, _: f"{v / 10_000:,.0f}万")
    return FuncFormatter(lambda v, _: f"{v / 1_000:,.0f}k")
