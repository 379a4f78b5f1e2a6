"""Model labels to canonical codes, in one place for every identifier.

Each identifier returns labels in its own vocabulary (lid.176 ``hi``, GlotLID ``hin_Deva``,
heliport ``hin``/``cmn``/``msa``, lingua's ISO 639-3). :func:`base_label` turns the ones that name a
macro-language member or a macro-language the canonical codes write differently into what
:func:`corpusforge.languages.code_for_label` reads, which then adds the script from the text.
Macro-languages, explicitly:

- Chinese: heliport's ``cmn`` (and ``yue`` stays Cantonese) -> ``zho``, with ``Hans``/``Hant``
  from the text, as lid.176's ``zh`` gets it.
- Malay: heliport's single ``msa`` label covers Malay and Indonesian; it maps to ``zsm`` (Standard
  Malay, as FLORES writes it) unless an ensemble lets lid.176 split it (``ind`` or ``zsm``).
- Arabic: ``ara``/``arb`` -> ``arb`` (Modern Standard Arabic, FLORES' ``arb_Arab``); other varieties
  keep their codes.
- Others that FLORES writes by a member: ``fas`` -> ``pes``, ``uzb`` -> ``uzn``, ``swa`` -> ``swh``,
  ``nep`` -> ``npi``, ``est``/``ekk`` -> ``est``, ``lav``/``lvs`` -> ``lvs``, ``nor`` -> ``nob`` (through
  :data:`corpusforge.languages.MACRO_TO_FLORES`).
"""

from __future__ import annotations

import threading

import numpy as np

from corpusforge.languages import LanguageCodeError, code_for_label

# Labels of heliport (ISO 639-3, macro-languages where HeLI-OTS has one) that the canonical codes
# write differently; the rest pass through code_for_label as they are.
HELIPORT_LABELS = {"cmn": "zho", "ara": "arb", "msa": "zsm", "ekk": "est", "nor": "nob"}

# Canonical languages that are members of one macro-language label of another identifier:
# which member to prefer when a second identifier names one of them (see EnsembleIdentifier).
MACRO_MEMBERS = {"zsm": frozenset({"zsm", "ind", "msa"}), "zho": frozenset({"zho", "cmn", "yue"})}


def base_label(label: str, table: dict[str, str]) -> str:
    """``label`` with an identifier's table applied (``cmn`` -> ``zho``)."""
    return table.get(label, label)


class CodeTable:
    """Code ids for (text scripts, label) pairs: the label of a model mapped once per script it is
    seen with, then looked up without locks or parsing. A label no code table knows becomes
    ``und_<script>`` so the row stays and is flagged."""

    def __init__(self) -> None:
        self.codes: list[str] = []  # code id -> code
        self._index: dict[str, int] = {}  # code -> code id
        self._tables: dict[str, dict[str, int]] = {}  # text's scripts -> label -> code id
        self._lock = threading.Lock()  # guards the first sight of a label; lookups take none

    def __getstate__(self):
        state = dict(self.__dict__)
        del state["_lock"]
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._lock = threading.Lock()

    def ids(self, preds: list[list[tuple[float, str]]], scripts: list[str]) -> np.ndarray:
        """Code id of every (row, label) pair, flattened; ``scripts`` are the rows' writing systems
        (dominant script, or the scripts present joined by ``+``)."""
        tables = self._tables
        try:
            return np.array(
                [table[label] for pairs, table in zip(preds, map(tables.__getitem__, scripts)) for _, label in pairs],
                dtype=np.int32,
            )
        except KeyError:  # first sight of a script or label: extend the tables, then look up again
            with self._lock:
                for pairs, s in zip(preds, scripts):
                    table = tables.setdefault(s, {})
                    for _, label in pairs:
                        if label not in table:
                            try:
                                code = code_for_label(label, s)
                            except LanguageCodeError:
                                code = "und_" + s.split("+")[0]
                            if code not in self._index:
                                self._index[code] = len(self.codes)
                                self.codes.append(code)
                            table[label] = self._index[code]
            return self.ids(preds, scripts)


def merge_repeats(ids: np.ndarray, scores: np.ndarray, rows: np.ndarray, counts: np.ndarray):
    """Where two labels of one row map to the same code (lid.176 ``sr`` and ``sh`` on Latin
    text), keep the code once with the summed score, rows still sorted best first. Finding
    repeats is vectorised; only rows that have one are rebuilt."""
    repeated = np.zeros(len(ids), dtype=bool)
    for lag in range(1, int(counts.max())):
        same = (ids[lag:] == ids[:-lag]) & (rows[lag:] == rows[:-lag])
        repeated[lag:] |= same
    if not repeated.any():
        return ids, scores, rows
    keep = np.ones(len(ids), dtype=bool)
    starts = np.concatenate([[0], np.cumsum(counts)])
    for r in np.unique(rows[repeated]):
        start, stop = starts[r], starts[r + 1]
        merged: dict[int, float] = {}
        for i in range(start, stop):
            merged[int(ids[i])] = merged.get(int(ids[i]), 0.0) + float(scores[i])
        ranked = sorted(merged.items(), key=lambda item: -item[1])
        ids[start : start + len(ranked)] = [code for code, _ in ranked]
        scores[start : start + len(ranked)] = [min(score, 1.0) for _, score in ranked]
        keep[start + len(ranked) : stop] = False
    return ids[keep], scores[keep], rows[keep]
