"""The report's figures as PNG bytes, drawn with matplotlib's Agg canvas (no display, no pyplot
state, so safe in any process). Labels are language codes and numbers only: the fonts
matplotlib ships need no glyphs beyond Latin, and nothing is fetched."""

from __future__ import annotations

import io
from collections.abc import Sequence

from matplotlib.figure import Figure

RAW_COLOUR = "#8c96a8"
NORM_COLOUR = "#2b6cb0"
ACCENT = "#c05621"
DPI = 100


def _png(fig: Figure) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI, metadata={"Software": None})  # fixed margins: "tight" would draw twice
    return buffer.getvalue()


def paired_shares(labels: Sequence[str], first: Sequence[float], second: Sequence[float], *, names: tuple[str, str], title: str) -> bytes:
    """Horizontal paired bars: two shares (0..1) per label, largest label on top."""
    height = max(2.2, 0.42 * len(labels) + 1.2)
    fig = Figure(figsize=(7.2, height))
    fig.subplots_adjust(left=0.19, right=0.97, top=1 - 0.45 / height, bottom=0.6 / height)
    ax = fig.add_subplot()
    positions = range(len(labels))
    bar = 0.38
    ax.barh([p - bar / 2 for p in positions], [100 * v for v in first], height=bar, color=RAW_COLOUR, label=names[0])
    ax.barh([p + bar / 2 for p in positions], [100 * v for v in second], height=bar, color=NORM_COLOUR, label=names[1])
    ax.set_yticks(list(positions), list(labels))
    ax.invert_yaxis()
    ax.set_xlabel("share of the corpus (%)")
    ax.set_title(title, fontsize=11)
    ax.legend(loc="lower right", fontsize=8, frameon=False)
    ax.grid(axis="x", alpha=0.3)
    ax.spines[["top", "right"]].set_visible(False)
    return _png(fig)


def histograms(panels: Sequence[tuple[str, Sequence[int]]], edges: Sequence[float], *, xlabel: str, title: str) -> bytes:
    """Small multiples: one bar histogram per (label, counts), on shared bin ``edges``."""
    columns = min(3, len(panels)) or 1
    rows = (len(panels) + columns - 1) // columns
    height = 1.9 * rows + 0.6
    fig = Figure(figsize=(7.2, height))
    fig.subplots_adjust(left=0.08, right=0.98, top=1 - 0.5 / height, bottom=0.5 / height, hspace=0.55, wspace=0.25)
    widths = [b - a for a, b in zip(edges[:-1], edges[1:])]
    for i, (label, counts) in enumerate(panels):
        ax = fig.add_subplot(rows, columns, i + 1)
        ax.bar(edges[:-1], counts, width=widths, align="edge", color=NORM_COLOUR, edgecolor="white", linewidth=0.4)
        ax.set_title(f"{label} ({sum(counts):,})", fontsize=9)
        ax.tick_params(labelsize=7)
        ax.set_xlim(edges[0], edges[-1])
        ax.spines[["top", "right"]].set_visible(False)
        if i // columns == rows - 1:
            ax.set_xlabel(xlabel, fontsize=8)
    fig.suptitle(title, fontsize=11)
    return _png(fig)


def counts_bar(labels: Sequence[str], counts: Sequence[int], *, xlabel: str, title: str) -> bytes:
    """A vertical bar chart of counts per label (switch points, embedded languages)."""
    fig = Figure(figsize=(7.2, 2.6))
    fig.subplots_adjust(left=0.1, right=0.98, top=0.88, bottom=0.2)
    ax = fig.add_subplot()
    ax.bar(range(len(labels)), counts, color=ACCENT)
    ax.set_xticks(list(range(len(labels))), list(labels), fontsize=8)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("rows")
    ax.set_title(title, fontsize=11)
    ax.spines[["top", "right"]].set_visible(False)
    return _png(fig)
