"""``corpusforge report``: one self-contained HTML page about a finished output, with figures.

The page reads only the output directory (its ``_manifest.json`` and Parquet columns, through
:class:`~corpusforge.analysis.scan.OutputFiles`) and states, section by section where the output
has the data: the run signature and accounting, languages in raw and English-equivalent bytes
(and the sampler's target vs achieved shares), language-ID confidence and confusions,
rejections with bounded examples, code-switching, translation, transliteration and tokenizer
parity. Tables carry every number (each numeric cell also as ``data-value``, unrounded), so the
page reads without JavaScript and tests can check it; figures are inline PNG (base64) and the
same PNG files beside the page. Everything from the data is HTML-escaped; nothing on the page
refers to the network.
"""

from __future__ import annotations

import base64
import html
import json
import os
import posixpath
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, BinaryIO

import pyarrow.compute as pc

from corpusforge import __version__
from corpusforge.analysis import figures
from corpusforge.analysis.scan import Opener, OutputFiles, is_url, join
from corpusforge.analysis.stats import (
    CONFUSION_MIN_SCORE,
    UNCERTAIN_BELOW,
    CodeSwitching,
    LanguageSizes,
    LidScores,
    Rejections,
    Translation,
    Transliteration,
    scan,
)
from corpusforge.config import ConfigError
from corpusforge.manifest import MANIFEST_NAME
from corpusforge.outputs import REPORT_DIR, REPORT_FILES

REPORT_NAME = REPORT_FILES[0]
GENERATOR = f"corpusforge report {__version__}"
PARITY_NAME = "parity.json"  # the tokenizer-parity job's result
FIGURE_NAMES = REPORT_FILES[1:]  # the names add_figure uses
TOP_LANGUAGES = 15  # languages drawn in the shares figure; the rest is grouped
LID_PANELS = 8  # languages with their own confidence histogram; the rest is grouped
EXAMPLE_ROWS = 5
Creator = Callable[[str], BinaryIO]


@dataclass
class Figure:
    name: str  # the PNG file beside the page
    title: str
    png: bytes


@dataclass
class Report:
    """A built report: the page, its figures and what was scanned."""

    html: str
    figures: list[Figure]
    rows_scanned: int
    seconds: float
    scan_seconds: float = 0.0  # of ``seconds``: reading and aggregating the columns (the rest draws and writes)
    summary: list[str] = field(default_factory=list)
    sections: list[str] = field(default_factory=list)


# -- HTML helpers ------------------------------------------------------------------------------
def esc(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


@dataclass(frozen=True)
class Cell:
    """A table cell: the text shown and, for numbers, the unrounded value (``data-value``)."""

    text: str
    value: float | int | None = None
    raw_html: bool = False
    cls: str = ""

    def render(self, tag: str = "td") -> str:
        attrs = f' data-value="{self.value!r}"' if self.value is not None else ""
        attrs += f' class="{self.cls}"' if self.cls else (' class="num"' if self.value is not None else "")
        attrs += ' dir="auto"' if self.cls == "example" else ""  # Urdu and Arabic examples read right to left
        return f"<{tag}{attrs}>{self.text if self.raw_html else esc(self.text)}</{tag}>"


def num(value: float | int | None, digits: int = 0) -> Cell:
    if value is None:
        return Cell("–")
    text = f"{value:,}" if isinstance(value, int) else f"{value:,.{digits}f}"
    return Cell(text, value)


def pct(share: float | None, digits: int = 1) -> Cell:
    """A share (0..1) shown as a percentage; ``data-value`` keeps the share."""
    return Cell("–") if share is None else Cell(f"{100 * share:.{digits}f} %", share)


def text(value: Any, cls: str = "") -> Cell:
    return Cell("" if value is None else str(value), cls=cls)


def table(table_id: str, headers: Sequence[str], rows: Iterable[Sequence[Cell]], caption: str = "") -> str:
    head = "".join(f"<th>{esc(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(c.render() for c in row) + "</tr>" for row in rows)
    cap = f"<caption>{esc(caption)}</caption>" if caption else ""
    return f'<table id="{esc(table_id)}">{cap}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def dl(items: Iterable[tuple[str, str]]) -> str:
    return "<dl>" + "".join(f"<dt>{esc(k)}</dt><dd>{esc(v)}</dd>" for k, v in items) + "</dl>"


def figure_html(fig: Figure, alt: str) -> str:
    data = base64.b64encode(fig.png).decode("ascii")
    return (
        f'<figure id="fig-{esc(fig.name.removesuffix(".png"))}"><img alt="{esc(alt)}" src="data:image/png;base64,{data}">'
        f"<figcaption>{esc(fig.title)} (also <code>{esc(fig.name)}</code>)</figcaption></figure>"
    )


def highlighted(text_value: str, spans: Sequence[dict]) -> str:
    """``text_value`` with each span (code-point ``start``/``end``) in a ``<mark>``, escaped."""
    out, at = [], 0
    for span in sorted(spans or [], key=lambda s: s["start"]):
        start, end = max(span["start"], at), span["end"]
        if start >= end or end > len(text_value):
            continue
        title = f"{span.get('lang')}: {span.get('original')}"
        out.append(esc(text_value[at:start]))
        out.append(f'<mark title="{esc(title)}">{esc(text_value[start:end])}</mark>')
        at = end
    out.append(esc(text_value[at:]))
    return "".join(out)


CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:0 auto;max-width:1100px;padding:1rem 1.5rem;color:#1a202c;line-height:1.4}
h1{font-size:1.5rem;margin-bottom:.2rem}h2{border-bottom:2px solid #4a5568;padding-bottom:.2rem;margin-top:2rem}h3{font-size:1.05rem}
nav a{margin-right:.8rem}table{border-collapse:collapse;margin:.6rem 0 1rem;font-size:.88rem}
th,td{border:1px solid #cbd5e0;padding:.2rem .5rem;text-align:left;vertical-align:top}th{background:#edf2f7}
td.num{text-align:right;font-variant-numeric:tabular-nums}caption{text-align:left;font-weight:600;padding:.2rem 0}
td.example{max-width:38rem;overflow-wrap:anywhere;white-space:pre-wrap;font-size:.85rem}
dl{display:grid;grid-template-columns:max-content auto;gap:.15rem 1rem}dt{font-weight:600}dd{margin:0}
.ok{background:#c6f6d5;border:1px solid #38a169;padding:.5rem .8rem}
.bad{background:#fed7d7;border:3px solid #c53030;padding:.6rem .8rem;font-weight:700;font-size:1.1rem}
td.bad{font-size:inherit;padding:.2rem .5rem}
mark{background:#fbd38d;padding:0 .1rem}figure{margin:1rem 0}img{max-width:100%}
figcaption{font-size:.85rem;color:#4a5568}.note{color:#4a5568;font-size:.9rem}
"""


# -- reading ----------------------------------------------------------------------------------
def _read(root: str, name: str, opener: Opener | None) -> bytes | None:
    path = join(root, name)
    try:
        if opener is None:
            with open(path, "rb") as f:
                return f.read()
        with opener(path) as f:
            return f.read()
    except OSError:
        return None


def _seconds_between(start: str | None, end: str | None) -> float | None:
    """Seconds from one ISO timestamp (``...Z``) to another, None when either is missing."""
    try:
        return (
            datetime.fromisoformat(str(end).replace("Z", "+00:00")) - datetime.fromisoformat(str(start).replace("Z", "+00:00"))
        ).total_seconds()
    except ValueError:
        return None


# -- sections ----------------------------------------------------------------------------------
class ReportBuilder:
    """Builds the page from one output directory (see the module docstring)."""

    def __init__(self, root: str, manifest: dict, opener: Opener | None = None, parity: dict | None = None):
        self.root = root
        self.manifest = manifest
        self.files = OutputFiles(root, manifest, opener)
        self.parity = parity
        self.figures: list[Figure] = []
        self.summary: list[str] = []

    def build(self) -> Report:
        started = time.perf_counter()
        outputs = self.files.names()
        self.sizes = {name: LanguageSizes(name) for name in ("segment", "bitext") if name in outputs}
        self.lid = {name: LidScores(name) for name in ("segment", "bitext") if name in outputs}
        self.rejections = Rejections()
        self.codeswitch = {name: CodeSwitching(name) for name in ("codeswitch", "segment") if name in outputs}
        self.translation = Translation()
        self.translit = {name: Transliteration(name) for name in ("segment", "bitext") if name in outputs}
        accumulators = [
            *self.sizes.values(),
            *self.lid.values(),
            self.rejections,
            *self.codeswitch.values(),
            self.translation,
            *self.translit.values(),
        ]
        rows = scan(self.files, accumulators)
        self.scan_seconds = time.perf_counter() - started
        sections = [
            ("signature", "Run signature", self.signature()),
            ("languages", "Languages", self.languages()),
            ("lid", "Language ID", self.language_id()),
            ("rejections", "Rejections", self.rejected()),
            ("codeswitch", "Code-switching", self.code_switching()),
            ("translation", "Translation", self.translated()),
            ("translit", "Transliteration", self.transliterated()),
            ("parity", "Tokenizer parity", self.tokenizer_parity()),
        ]
        present = [(sid, title, body) for sid, title, body in sections if body]
        absent = [title for _, title, body in sections if not body]
        seconds = time.perf_counter() - started
        page = self.page(present, absent, rows, seconds)
        return Report(page, self.figures, rows, seconds, self.scan_seconds, self.summary, [sid for sid, _, _ in present])

    def page(self, sections: list[tuple[str, str, str]], absent: list[str], rows: int, seconds: float) -> str:
        m = self.manifest
        name = (m.get("config") or {}).get("name") or (self.parity or {}).get("name") or "output"
        nav = "".join(f'<a href="#{sid}">{esc(title)}</a>' for sid, title, _ in sections)
        body = "".join(f'<section id="{sid}"><h2>{esc(title)}</h2>{content}</section>' for sid, title, content in sections)
        missing = f'<p class="note">Not in this output: {esc(", ".join(absent))}.</p>' if absent else ""
        return (
            '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta name="generator" content="{esc(GENERATOR)}">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>corpusforge report: {esc(name)}</title><style>{CSS}</style></head><body>"
            f"<h1>corpusforge report: {esc(name)}</h1>"
            f'<p class="note">{esc(self.root)}: {rows:,} rows scanned in <span id="report-seconds" data-value="{seconds!r}">'
            f"{seconds:.2f} s</span> by {esc(GENERATOR)}.</p><nav>{nav}</nav>{missing}{body}</body></html>\n"
        )

    # signature ---------------------------------------------------------------------------------
    def signature(self) -> str:
        m = self.manifest
        if not m:
            return ""
        run = m.get("run") or {}
        duration = _seconds_between(run.get("started_at"), m.get("created_at"))
        items = [
            ("corpusforge", str(m.get("corpusforge_version"))),
            ("recipe", f"{(m.get('config') or {}).get('name')} (hash {m.get('recipe_hash')})"),
            ("runner", str(run.get("runner") or "not recorded in the manifest")),
            ("started", str(run.get("started_at") or "not recorded in the manifest")),
            ("duration", f"{duration:,.0f} s (start to manifest)" if duration is not None else "not recorded in the manifest"),
            ("finished (manifest written)", str(m.get("created_at"))),
        ]
        parts = [dl(items)]
        totals = m.get("totals") or {}
        if m.get("balanced"):
            parts.append(
                f'<p id="accounting-status" class="ok">Balanced: {totals.get("read", 0):,} read + {totals.get("created", 0):,} created = '
                f"{totals.get('written', 0):,} written + {totals.get('rejected', 0):,} rejected + {totals.get('duplicates', 0):,} duplicates.</p>"
            )
            self.summary.append(f"accounting: balanced ({totals.get('read', 0):,} read, {totals.get('written', 0):,} written)")
        elif "balanced" in m:
            bad = ", ".join(m.get("unbalanced_sources") or []) or "the totals"
            parts.append(
                f'<p id="accounting-status" class="bad">NOT BALANCED: rows are unaccounted for in {esc(bad)} '
                f"(read + created ≠ written + rejected + duplicates, or rejected rows not all stored). See the table.</p>"
            )
            self.summary.append(f"accounting: NOT BALANCED ({bad})")
        rows = []
        for source, e in sorted((m.get("sources") or {}).items()):
            ok = bool(e.get("balanced"))
            rows.append(
                [
                    text(source),
                    num(e.get("files", 0)),
                    num(e.get("read", 0)),
                    num(e.get("created", 0)),
                    num(e.get("written", 0)),
                    num(e.get("rejected", 0)),
                    num(e.get("duplicates", 0)),
                    num(e.get("unaccounted", 0)),
                    Cell("yes" if ok else "NO", cls="" if ok else "bad"),
                ]
            )
        if rows:
            headers = ["source", "files", "read", "created", "written", "rejected", "duplicates", "unaccounted", "balanced"]
            parts.append(table("accounting", headers, rows, "Accounting per source: read + created = written + rejected + duplicates"))
        stages = m.get("stages") or []
        if stages:
            models = m.get("models") or {}
            stage_rows = [
                [
                    text(s.get("name")),
                    text(s.get("version")),
                    text(", ".join(f"{k}: {v}" for k, v in (models.get(s.get("name")) or {}).items())),
                ]
                for s in stages
            ]
            parts.append(table("stages", ["stage", "version", "models and lexicons"], stage_rows, "Stages, in recipe order"))
        counts = m.get("stage_counts") or {}
        if counts:
            outcomes = sorted({k for c in counts.values() for k in c if k != "rejected_by_reason"})
            count_rows = [
                [text(stage), *[num(c.get(k)) if c.get(k) is not None else Cell("") for k in outcomes]] for stage, c in counts.items()
            ]
            parts.append(table("stage-counts", ["stage", *outcomes], count_rows, "Rows per stage and outcome"))
        return "".join(parts)

    # languages ---------------------------------------------------------------------------------
    def languages(self) -> str:
        parts = []
        drawn = False
        for name, acc in self.sizes.items():
            result = acc.result()
            if result is None:
                continue
            premium = result["premium"]
            rows = [
                [
                    text(e["lang"]),
                    num(e["texts"]),
                    num(e["bytes"]),
                    num(e["norm_bytes"], 0) if premium else Cell("–"),
                    num(e["premium"], 3) if premium else Cell("–"),
                    text(", ".join(e["premium_source"]) or "–"),
                    pct(e["share_bytes"]),
                    pct(e["share_norm_bytes"]) if premium else Cell("–"),
                ]
                for e in result["languages"]
            ]
            what = "segments" if name == "segment" else "texts (each side of a pair)"
            headers = [
                "language",
                what,
                "raw bytes",
                "English-equivalent bytes",
                "byte premium",
                "premium source",
                "share of raw bytes",
                "share of English-equivalent bytes",
            ]
            note = "" if premium else " (no premium stage ran: raw bytes only)"
            parts.append(table(f"languages-{name}", headers, rows, f"{name}: per language{note}"))
            if premium and not drawn:
                drawn = True
                langs = result["languages"]
                shown, rest = langs[:TOP_LANGUAGES], langs[TOP_LANGUAGES:]
                labels = [e["lang"] for e in shown] + ([f"other ({len(rest)})"] if rest else [])
                raw = [e["share_bytes"] for e in shown] + ([sum(e["share_bytes"] for e in rest)] if rest else [])
                norm = [e["share_norm_bytes"] or 0.0 for e in shown] + ([sum(e["share_norm_bytes"] or 0.0 for e in rest)] if rest else [])
                fig = self.add_figure(
                    "languages.png",
                    f"{name}: share of each language in raw UTF-8 bytes and in English-equivalent bytes",
                    figures.paired_shares(
                        labels,
                        raw,
                        norm,
                        names=("raw bytes", "English-equivalent bytes"),
                        title=f"{name}: language shares before and after byte-premium normalisation",
                    ),
                )
                parts.append(figure_html(fig, "paired bars of each language's share in raw and in English-equivalent bytes"))
                top = ", ".join(f"{e['lang']} {100 * (e['share_norm_bytes'] or 0):.1f}%" for e in langs[:5])
                self.summary.append(f"languages ({name}, English-equivalent bytes): {top}{', ...' if len(langs) > 5 else ''}")
        sampling = (self.manifest.get("sampling") or {}).get("languages")
        if sampling:
            srows = [
                [
                    text(lang),
                    num(e.get("segments_in")),
                    num(e.get("norm_bytes_in"), 0),
                    num(e.get("rate"), 3),
                    pct(e.get("target_share")),
                    num(e.get("segments_out")),
                    num(e.get("norm_bytes_out"), 0),
                    pct(e.get("achieved_share")),
                    num(e.get("share_error_pp"), 2),
                ]
                for lang, e in sorted(sampling.items(), key=lambda kv: (-(kv[1].get("norm_bytes_in") or 0), kv[0]))
            ]
            headers = [
                "language",
                "segments in",
                "English-eq. bytes in",
                "rate",
                "target share",
                "segments out",
                "English-eq. bytes out",
                "achieved share",
                "error (pp)",
            ]
            parts.append(table("sampling", headers, srows, "sample: target vs achieved shares (English-equivalent bytes)"))
            langs = [r[0].text for r in srows][: TOP_LANGUAGES + 5]
            fig = self.add_figure(
                "sampling.png",
                "sample: target vs achieved share per language",
                figures.paired_shares(
                    langs,
                    [sampling[lang].get("target_share") or 0.0 for lang in langs],
                    [sampling[lang].get("achieved_share") or 0.0 for lang in langs],
                    names=("target", "achieved"),
                    title="sample: target vs achieved share",
                ),
            )
            parts.append(figure_html(fig, "paired bars of each language's target and achieved share after sampling"))
        return "".join(parts)

    # language ID -------------------------------------------------------------------------------
    def language_id(self) -> str:
        parts = []
        drawn = False
        for name, acc in self.lid.items():
            result = acc.result()
            if result is None:
                continue
            rows = [
                [
                    text(e["lang"]),
                    num(e["rows"]),
                    num(e["mean_score"], 3),
                    num(e["unsure"]),
                    pct(e["unsure"] / e["rows"] if e["rows"] else 0.0),
                ]
                for e in result["languages"]
            ]
            headers = ["language", "rows", "mean confidence", f"rows below {UNCERTAIN_BELOW}", f"share below {UNCERTAIN_BELOW}"]
            parts.append(table(f"lid-{name}", headers, rows, f"{name}: confidence of the assigned language (lang_score)"))
            if not drawn:
                drawn = True
                langs = result["languages"]
                panels = [(e["lang"], e["histogram"]) for e in langs[:LID_PANELS]]
                rest = langs[LID_PANELS:]
                if rest:
                    panels.append((f"other {len(rest)} languages", [sum(col) for col in zip(*(e["histogram"] for e in rest))]))
                edges = [i / result["bins"] for i in range(result["bins"] + 1)]
                fig = self.add_figure(
                    "lid_confidence.png",
                    f"{name}: language-ID confidence per language",
                    figures.histograms(panels, edges, xlabel="confidence", title=f"{name}: language-ID confidence"),
                )
                parts.append(figure_html(fig, "histograms of language-ID confidence for the largest languages"))
            confusions = result["confusions"][:10]
            crow = [[text(c["lang"]), text(c["other"]), num(c["n"])] for c in confusions]
            caption = f"{name}: commonest confusions (assigned language, best other label in lang_topk scoring ≥ {CONFUSION_MIN_SCORE})"
            parts.append(
                table(f"confusions-{name}", ["language", "confused with", "rows"], crow, caption)
                if crow
                else f'<p class="note">{esc(caption)}: none.</p>'
            )
        filters = [s for s in self.manifest.get("stages") or [] if s.get("name") == "lang_filter"]
        for s in filters:
            parts.append(
                dl(
                    [
                        ("lang_filter allowed", ", ".join(s.get("allowed") or []) or "any"),
                        ("thresholds", json.dumps(s.get("thresholds") or {}, ensure_ascii=False)),
                        ("default threshold", str(s.get("default_threshold"))),
                    ]
                )
            )
        rejected = self.rejections.result()
        if rejected and rejected["lang_filter"]:
            trows = [[text(r["reason"]), text(r["threshold"] or "–"), num(r["n"])] for r in rejected["lang_filter"]]
            parts.append(
                table("lid-thresholds", ["reason", "threshold", "rows rejected"], trows, "lang_filter: rows each threshold rejected")
            )
        return "".join(parts)

    # rejections -------------------------------------------------------------------------------
    def rejected(self) -> str:
        result = self.rejections.result()
        totals = self.manifest.get("totals") or {}
        if result is None:
            return (
                f'<p id="rejections-none">No rejected rows (the manifest counts {totals.get("rejected", 0):,}).</p>'
                if self.manifest
                else ""
            )
        by_manifest = {
            (stage, reason): n for stage, reasons in (totals.get("rejected_by_stage") or {}).items() for reason, n in reasons.items()
        }
        rows = []
        for g in result["groups"]:
            counted = by_manifest.get((g["stage"], g["reason"]))
            rows.append([text(g["stage"]), text(g["reason"]), num(g["rows"]), num(counted) if counted is not None else Cell("–")])
        parts = [
            table("rejections-table", ["stage", "reason", "rows stored", "rows in the manifest"], rows, "Rejected rows by stage and reason")
        ]
        examples = []
        for g in result["groups"][:40]:
            for ex in g["examples"]:
                where = f"{ex.get('file') or ''}:{ex.get('offset')}" if ex.get("file") else ""
                examples.append(
                    [
                        text(g["stage"]),
                        text(g["reason"]),
                        text(ex.get("source")),
                        text(where, "example"),
                        text(ex.get("detail"), "example"),
                        text(ex.get("preview"), "example"),
                    ]
                )
        parts.append(
            table(
                "rejection-examples",
                ["stage", "reason", "source", "file:offset", "detail", "preview"],
                examples,
                "Examples (bounded previews)",
            )
        )
        top = result["groups"][0]
        self.summary.append(f"rejected: {result['rows']:,} rows; top reason {top['reason']} at {top['stage']} ({top['rows']:,})")
        return "".join(parts)

    # code-switching ---------------------------------------------------------------------------
    def code_switching(self) -> str:
        parts = []
        drawn = False
        for name, acc in self.codeswitch.items():
            result = acc.result()
            if result is None:
                continue
            cmi = result["cmi"]
            parts.append(
                dl(
                    [(f"{name} rows", f"{result['rows']:,}"), ("mean CMI", f"{cmi['mean']:.2f}" if cmi["mean"] is not None else "–")]
                ).replace("<dl>", f'<dl id="codeswitch-{name}-summary" data-rows="{result["rows"]}" data-mean-cmi="{cmi["mean"]!r}">', 1)
            )
            if not drawn and cmi["n"]:
                drawn = True
                fig = self.add_figure(
                    "cmi.png",
                    f"{name}: code-mixing index (CMI)",
                    figures.histograms([("CMI", cmi["counts"])], cmi["edges"], xlabel="CMI (0-100)", title=f"{name}: CMI"),
                )
                parts.append(figure_html(fig, "histogram of the code-mixing index"))
                if result["switch_points"]:
                    labels = [str(k) for k, _ in result["switch_points"]]
                    fig = self.add_figure(
                        "switch_points.png",
                        f"{name}: switch points per row",
                        figures.counts_bar(
                            labels, [n for _, n in result["switch_points"]], xlabel="switch points", title=f"{name}: switch points per row"
                        ),
                    )
                    parts.append(figure_html(fig, "bar chart of switch points per row"))
            if result["switch_points"]:
                parts.append(
                    table(
                        f"switch-points-{name}",
                        ["switch points", "rows"],
                        [[num(k), num(n)] for k, n in result["switch_points"]],
                        f"{name}: switch points",
                    )
                )
            if result["embedded"]:
                parts.append(
                    table(
                        f"embedded-{name}",
                        ["embedded language", "rows"],
                        [[text(k), num(n)] for k, n in result["embedded"]],
                        f"{name}: embedded languages",
                    )
                )
            if name == "codeswitch":
                parts.append(self.codeswitch_examples())
        return "".join(parts)

    def codeswitch_examples(self) -> str:
        head = self.files.head("codeswitch", EXAMPLE_ROWS, ["text", "source_text", "matrix_lang", "embedded_langs", "spans"])
        if not head.num_rows:
            return ""
        rows = []
        for r in head.to_pylist():
            rows.append(
                [
                    Cell(esc(r.get("source_text")), raw_html=True, cls="example"),
                    Cell(highlighted(r.get("text") or "", r.get("spans") or []), raw_html=True, cls="example"),
                    text(", ".join(r.get("embedded_langs") or [])),
                ]
            )
        return table("codeswitch-examples", ["source text", "switched text (spans marked)", "embedded"], rows, "Examples")

    # translation ------------------------------------------------------------------------------
    def translated(self) -> str:
        result = self.translation.result()
        if result is None:
            return ""
        rows = [
            [text(r["src_lang"]), text(r["tgt_lang"]), text(r["model"]), num(r["n"]), num(r["tokens"]), num(r["truncated"])]
            for r in result["directions"]
        ]
        headers = ["from", "to", "model", "pairs", "source tokens (whitespace)", "truncated"]
        parts = [table("translation-directions", headers, rows, "Translated pairs per direction")]
        score = result["score"]
        if score["n"]:
            fig = self.add_figure(
                "mt_score.png",
                "translation score (mean token log-probability)",
                figures.histograms(
                    [("mt_score", score["counts"])], score["edges"], xlabel="mean log-probability", title="translation scores"
                ),
            )
            parts.append(figure_html(fig, "histogram of translation scores"))
            parts.append(dl([("mean mt_score", f"{score['mean']:.3f}")]))
        chrf = result["round_trip_chrf"]
        if chrf:
            parts.append(dl([("mean round-trip chrF", f"{chrf['mean']:.1f}"), ("pairs with round trip", f"{chrf['n']:,}")]))
        return "".join(parts)

    # transliteration --------------------------------------------------------------------------
    def transliterated(self) -> str:
        parts = []
        for name, acc in self.translit.items():
            result = acc.result()
            if result is None:
                continue
            if name == "bitext":
                rows = [[text(a), text(b), num(n)] for a, b, n in result["counts"]]
                parts.append(table("translit-pairs", ["from", "to", "pairs"], rows, "Transliteration pairs (origin: transliteration)"))
            else:
                rows = [[text(a), num(n)] for a, n in result["counts"]]
                parts.append(table("translit-segments", ["language", "rows transliterated"], rows, "Segments with text_translit"))
                examples: list[dict] = []
                for batch in self.files.batches("segment", ["text", "text_translit"]):
                    picked = batch.filter(pc.is_valid(batch.column("text_translit"))).slice(0, EXAMPLE_ROWS - len(examples))
                    examples += picked.to_pylist()
                    if len(examples) >= EXAMPLE_ROWS:
                        break
                erows = [[text(e["text"], "example"), text(e["text_translit"], "example")] for e in examples]
                parts.append(table("translit-examples", ["text", "transliterated"], erows, "Examples"))
        return "".join(parts)

    # tokenizer parity -------------------------------------------------------------------------
    def tokenizer_parity(self) -> str:
        p = self.parity
        if not p:
            return ""
        names = [n for n in ("raw", "balanced") if isinstance(p.get(n), dict)]
        langs = sorted({lang for n in names for lang in p[n].get("languages", {})})
        rows = []
        for lang in langs:
            row = [text(lang)]
            for n in names:
                e = p[n]["languages"].get(lang) or {}
                row += [num(e.get("parity"), 3), num(e.get("fertility"), 2)]
            rows.append(row)
        headers = ["language", *[f"{h} ({n})" for n in names for h in ("parity", "fertility")]]
        return table(
            "parity-table", headers, rows, "Tokens per English token on the same held-out units (parity) and tokens per unit (fertility)"
        )

    def add_figure(self, name: str, title: str, png: bytes) -> Figure:
        assert name in FIGURE_NAMES, name  # an overwrite of the output clears only these names
        fig = Figure(name, title, png)
        self.figures.append(fig)
        return fig


# -- entry points -----------------------------------------------------------------------------
def build_report(output_dir: str, *, opener: Opener | None = None) -> Report:
    """The report of ``output_dir`` (local, or any filesystem ``opener`` reads)."""
    root = str(output_dir)
    manifest_bytes = _read(root, MANIFEST_NAME, opener)
    parity_bytes = _read(root, PARITY_NAME, opener)
    if manifest_bytes is None and parity_bytes is None:
        raise ConfigError(f"report {root}: not a corpusforge output (no {MANIFEST_NAME}; a run writes one when it ends)")
    try:
        manifest = json.loads(manifest_bytes) if manifest_bytes is not None else {}
        parity = json.loads(parity_bytes) if parity_bytes is not None else None
    except ValueError as exc:
        raise ConfigError(f"report {root}: {MANIFEST_NAME} or {PARITY_NAME} is not JSON ({exc})") from exc
    return ReportBuilder(root, manifest, opener, parity).build()


def report_dir(output_dir: str) -> str:
    return posixpath.join(output_dir, REPORT_DIR) if is_url(output_dir) else os.path.join(output_dir, REPORT_DIR)


def write_report(output_dir: str, *, opener: Opener | None = None, creator: Creator | None = None) -> tuple[str, Report]:
    """Build the report and write ``OUTPUT_DIR/report/report.html`` with its PNGs beside it.

    Writes only names of its own, and replaces an existing ``report.html`` only when an earlier
    report wrote it (its generator tag); otherwise it refuses. Local files appear by rename."""
    report = build_report(output_dir, opener=opener)
    folder = report_dir(str(output_dir))
    page = join(folder, REPORT_NAME)
    existing = _read(folder, REPORT_NAME, opener)
    if existing is not None and b'content="corpusforge report' not in existing:
        raise ConfigError(f"report: {page} exists and was not written by corpusforge report; move it away first")
    files = {REPORT_NAME: report.html.encode("utf-8"), **{f.name: f.png for f in report.figures}}
    if creator is None:
        os.makedirs(folder, exist_ok=True)
        for name, data in files.items():
            temp = os.path.join(folder, f".{name}.tmp")
            with open(temp, "wb") as f:
                f.write(data)
            os.replace(temp, os.path.join(folder, name))
        if existing is not None:  # figures an earlier report drew and this one does not
            for stale in set(FIGURE_NAMES) - set(files):
                if os.path.isfile(os.path.join(folder, stale)):
                    os.remove(os.path.join(folder, stale))
    else:
        for name, data in files.items():
            with creator(join(folder, name)) as out:
                out.write(data)
    return page, report
