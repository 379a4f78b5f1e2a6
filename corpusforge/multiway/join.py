"""Greedy multi-way join of sentence pairs (Thompson et al. 2024, "A Shocking Amount of the Web
is Machine Translated").

A sentence is a node: a 64-bit blake2b of its language and (optionally normalised) text, so the
same sentence under different ids, files or sources is one node. A pair is an edge between two
nodes. The join takes distinct edges from the highest alignment score down and:

- neither sentence in a tuple: the two start a new tuple (unless they share a language);
- one in a tuple: the other joins it, unless the tuple already has a sentence in its language;
- both in tuples (the same or two different ones): nothing; two tuples are never merged, so a
  chain of pairs cannot grow a tuple without bound.

A tuple therefore holds one sentence per language and its degree is its number of languages.

**Tie rule** (what makes the result independent of runner and input order): distinct edges are
ranked by score, highest first; equal scores by the smaller sentence hash of the edge, then the
larger one (ascending). An edge read several times (the same pair in several files) counts once,
with its highest score. A missing score (NaN) ranks below every scored edge.

Cost: :class:`PairTable` holds ~30 bytes per pair read; :func:`join_pairs` keeps only pairs that
touch a sentence shared by another pair (an isolated pair is a 2-tuple by itself) and walks them
in a Python loop; :class:`JoinResult` holds ~24 bytes per such sentence.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

_SEPARATOR = b"\xff"  # never in UTF-8: (lang, text) pairs cannot collide by concatenation
UNKNOWN_LANG = "und"
_MAX_CHUNKS = 256


def normalised(texts: pa.Array) -> pa.Array:
    """What "the same sentence" compares when normalising: NFKC, lower case, punctuation removed,
    whitespace runs collapsed, trimmed (vectorised; null -> "")."""
    out = pc.utf8_lower(pc.utf8_normalize(pc.fill_null(texts, ""), "NFKC"))
    out = pc.replace_substring_regex(out, r"[\p{P}\s]+", " ")
    return pc.utf8_trim_whitespace(out)


def sentence_keys(texts: pa.Array, langs: pa.Array, *, normalise: bool = True) -> np.ndarray:
    """One uint64 per row: blake2b-64 of (language, text); a null language counts as ``und``."""
    texts = normalised(texts) if normalise else pc.fill_null(texts, "")
    keyed = pc.binary_join_element_wise(pc.fill_null(langs, UNKNOWN_LANG).cast(pa.binary()), texts.cast(pa.binary()), _SEPARATOR)
    blake2b = hashlib.blake2b
    digests = b"".join([blake2b(value, digest_size=8).digest() for value in keyed.to_pylist()])
    return np.frombuffer(digests, dtype="<u8").astype(np.uint64) if digests else np.zeros(0, np.uint64)


def pair_keys(
    src_text: pa.Array, tgt_text: pa.Array, src_lang: pa.Array, tgt_lang: pa.Array, *, normalise: bool = True
) -> tuple[np.ndarray, np.ndarray, pa.Array, pa.Array]:
    """Per pair: the two sentence keys ordered so that ``u <= v``, and their languages (strings,
    ``und`` for null) in the same order: the edge of the pair, whichever side is the source."""
    a = sentence_keys(src_text, src_lang, normalise=normalise)
    b = sentence_keys(tgt_text, tgt_lang, normalise=normalise)
    la, lb = pc.fill_null(src_lang, UNKNOWN_LANG), pc.fill_null(tgt_lang, UNKNOWN_LANG)
    swap = a > b
    mask = pa.array(swap)
    return np.where(swap, b, a), np.where(swap, a, b), pc.if_else(mask, lb, la), pc.if_else(mask, la, lb)


def tuple_id(u: int, v: int) -> str:
    """A tuple's id: the two sentence hashes of the edge that founded it (its highest-ranked
    pair), 32 hex digits like every stable id."""
    return f"{u:016x}{v:016x}"


@dataclass
class PairTable:
    """The edges of a corpus: sentence keys, language indices and scores. Mergeable in any order
    with the same join result (the join sorts; duplicates collapse). The phase-one statistics
    of the ``multiway`` stage."""

    langs: list[str] = field(default_factory=list)
    _chunks: list[tuple[np.ndarray, ...]] = field(default_factory=list)

    def _lang_index(self, names: pa.Array | Sequence[str]) -> np.ndarray:
        """This table's index of each language (new languages are appended)."""
        encoded = pc.dictionary_encode(pa.array(names, pa.string()) if not isinstance(names, pa.Array) else names)
        index = {name: i for i, name in enumerate(self.langs)}
        mapping = np.empty(len(encoded.dictionary), np.int32)
        for j, name in enumerate(encoded.dictionary.to_pylist()):
            if name not in index:
                index[name] = len(self.langs)
                self.langs.append(name)
            mapping[j] = index[name]
        return mapping[encoded.indices.to_numpy(zero_copy_only=False)] if len(mapping) else np.zeros(0, np.int32)

    def add(self, u: np.ndarray, v: np.ndarray, lu: pa.Array | Sequence[str], lv: pa.Array | Sequence[str], score: np.ndarray) -> None:
        """Add pairs (``u <= v``, see :func:`pair_keys`) with their scores (NaN: none)."""
        if len(u):
            self._chunks.append((u, v, self._lang_index(lu), self._lang_index(lv), np.asarray(score, np.float64)))
            if len(self._chunks) >= _MAX_CHUNKS:  # one chunk per batch would grow without bound on a big corpus
                self._chunks = [tuple(np.concatenate(parts) for parts in zip(*self._chunks))]

    def merge(self, other: PairTable) -> PairTable:
        """Add ``other``'s pairs into this table (in place) and return it."""
        names = np.array(other.langs + [""], dtype=object)
        for u, v, lu, lv, score in other._chunks:
            self.add(u, v, names[lu].tolist(), names[lv].tolist(), score)
        return self

    def __len__(self) -> int:
        return sum(len(chunk[0]) for chunk in self._chunks)

    def arrays(self) -> tuple[np.ndarray, ...]:
        """(u, v, lu, lv, score) of the distinct edges, each once with its highest score, sorted by (u, v)."""
        if not self._chunks:
            empty_key, empty_lang = np.zeros(0, np.uint64), np.zeros(0, np.int32)
            return empty_key, empty_key, empty_lang, empty_lang, np.zeros(0, np.float64)
        u, v, lu, lv, score = (np.concatenate(parts) for parts in zip(*self._chunks))
        score = np.where(np.isnan(score), -np.inf, score)
        order = np.lexsort((-score, v, u))  # by (u, v), best score first within an edge
        u, v, lu, lv, score = u[order], v[order], lu[order], lv[order], score[order]
        first = np.ones(len(u), bool)
        first[1:] = (u[1:] != u[:-1]) | (v[1:] != v[:-1])
        return u[first], v[first], lu[first], lv[first], score[first]


@dataclass
class JoinResult:
    """The tuples of a join: for every sentence that touches more than one distinct pair, its
    tuple (or -1: in none); per tuple its degree and founding edge. Pairs whose two sentences
    occur in no other pair are 2-tuples without an entry here."""

    nodes: np.ndarray  # sorted uint64 sentence keys
    node_tuple: np.ndarray  # int64 tuple index per node, -1 when in no tuple
    tuple_degree: np.ndarray  # int32
    tuple_u: np.ndarray  # uint64: founding edge
    tuple_v: np.ndarray
    sentence_degrees: dict[str, dict[int, int]]  # language -> {degree of its sentences' tuples: sentences}
    pairs: int = 0  # distinct edges in the join
    isolated_pairs: int = 0  # distinct pairs of two languages whose sentences occur in no other pair (2-tuples)
    _ids: list[str] | None = field(default=None, repr=False)

    def lookup(self, u: np.ndarray, v: np.ndarray, lu: pa.Array, lv: pa.Array) -> tuple[list[str | None], np.ndarray]:
        """Per pair (``u <= v``, as :func:`pair_keys` gives): the id of the tuple that holds both
        its sentences (None when they ended in different tuples or in none), and
        ``mway_degree``: that tuple's degree, else the larger degree of its two sentences'
        tuples (1 for a sentence in none)."""
        tu, tv = self._tuples(u), self._tuples(v)
        deg = np.append(self.tuple_degree, 1)  # index -1 -> degree 1
        degree = np.maximum(deg[tu], deg[tv]).astype(np.int32)
        isolated = (tu == -2) & (tv == -2)
        two_way = isolated & (u != v) & ~pc.equal(lu, lv).to_numpy(zero_copy_only=False)
        degree[isolated] = np.where(two_way[isolated], 2, 1)
        ids: list[str | None] = [None] * len(u)
        for row, a, b in zip(np.flatnonzero(two_way).tolist(), u[two_way].tolist(), v[two_way].tolist()):
            ids[row] = f"{a:016x}{b:016x}"  # tuple_id
        joined = (tu == tv) & (tu >= 0) & (u != v)
        names = self.tuple_ids()
        for row, t in zip(np.flatnonzero(joined).tolist(), tu[joined].tolist()):
            ids[row] = names[t]
        return ids, degree

    def tuple_ids(self) -> list[str]:
        """Each tuple's id (computed once per result)."""
        if self._ids is None:
            self._ids = [tuple_id(a, b) for a, b in zip(self.tuple_u.tolist(), self.tuple_v.tolist())]
        return self._ids

    def _tuples(self, keys: np.ndarray) -> np.ndarray:
        """Tuple index per key: -1 in none, -2 for a key not in the result (an isolated pair's)."""
        if not len(self.nodes):
            return np.full(len(keys), -2, np.int64)
        at = np.minimum(np.searchsorted(self.nodes, keys), len(self.nodes) - 1)
        found = self.nodes[at] == keys
        return np.where(found, self.node_tuple[at], -2)

    def tuples_by_degree(self) -> dict[int, int]:
        """Number of tuples of each degree, the isolated 2-tuples included."""
        values, counts = np.unique(self.tuple_degree, return_counts=True)
        by_degree = dict(zip(values.tolist(), counts.tolist()))
        if self.isolated_pairs:
            by_degree[2] = by_degree.get(2, 0) + self.isolated_pairs
        return dict(sorted(by_degree.items()))


def join_pairs(table: PairTable) -> JoinResult:
    """The greedy join of every distinct pair in ``table`` (see the module docstring for the
    rule and the tie order). Deterministic: the same pairs give the same tuples in any order."""
    u, v, lu, lv, score = table.arrays()
    nodes_all, counts = np.unique(np.concatenate([u, v]), return_counts=True)
    shared = counts > 1

    def count_of(keys: np.ndarray) -> np.ndarray:
        return counts[np.searchsorted(nodes_all, keys)] if len(keys) else np.zeros(0, np.int64)

    isolated = (count_of(u) == 1) & (count_of(v) == 1)
    degrees: dict[str, dict[int, int]] = {}

    def tally(lang_index: np.ndarray, degree: np.ndarray) -> None:
        for (lang, deg), n in zip(*_pairs_counts(lang_index, degree)):
            by_lang = degrees.setdefault(table.langs[lang], {})
            by_lang[deg] = by_lang.get(deg, 0) + n

    iso_degree = np.where((lu[isolated] != lv[isolated]) & (u[isolated] != v[isolated]), 2, 1)
    tally(lu[isolated], iso_degree)
    tally(lv[isolated], iso_degree)

    keep = ~isolated
    ju, jv, jlu, jlv, js = u[keep], v[keep], lu[keep], lv[keep], score[keep]
    order = np.lexsort((jv, ju, -js))  # score descending, then smaller key, then larger key
    tuple_of: dict[int, int] = {}
    tuple_langs: list[set[int]] = []
    founders: list[tuple[int, int]] = []
    for a, b, la, lb in zip(ju[order].tolist(), jv[order].tolist(), jlu[order].tolist(), jlv[order].tolist()):
        ta, tb = tuple_of.get(a), tuple_of.get(b)
        if ta is None and tb is None:
            if la != lb and a != b:
                tuple_of[a] = tuple_of[b] = len(founders)
                tuple_langs.append({la, lb})
                founders.append((a, b))
        elif tb is None:
            assert ta is not None
            if lb not in tuple_langs[ta]:
                tuple_of[b] = ta
                tuple_langs[ta].add(lb)
        elif ta is None:
            if la not in tuple_langs[tb]:
                tuple_of[a] = tb
                tuple_langs[tb].add(la)
    nodes = nodes_all[shared | np.isin(nodes_all, np.concatenate([ju, jv]))]
    node_tuple = np.fromiter((tuple_of.get(k, -1) for k in nodes.tolist()), dtype=np.int64, count=len(nodes))
    tuple_degree = np.fromiter((len(s) for s in tuple_langs), dtype=np.int32, count=len(tuple_langs))
    founder_u = np.fromiter((a for a, _ in founders), dtype=np.uint64, count=len(founders))
    founder_v = np.fromiter((b for _, b in founders), dtype=np.uint64, count=len(founders))

    # the language and degree of every sentence in a joined pair (each sentence once)
    node_keys = np.concatenate([ju, jv])
    node_langs = np.concatenate([jlu, jlv])
    distinct, first = np.unique(node_keys, return_index=True)
    deg_table = np.append(tuple_degree, 1)
    at = np.searchsorted(nodes, distinct)
    tally(node_langs[first], deg_table[node_tuple[at]] if len(at) else np.zeros(0, np.int32))
    result = JoinResult(
        nodes=nodes,
        node_tuple=node_tuple,
        tuple_degree=tuple_degree,
        tuple_u=founder_u,
        tuple_v=founder_v,
        sentence_degrees={lang: dict(sorted(d.items())) for lang, d in sorted(degrees.items())},
        pairs=len(u),
        isolated_pairs=int(np.count_nonzero(iso_degree == 2)),
    )
    return result


def _pairs_counts(a: np.ndarray, b: np.ndarray) -> tuple[list[tuple[int, int]], list[int]]:
    """Counts of each distinct (a, b) pair."""
    if not len(a):
        return [], []
    stacked = np.stack([a.astype(np.int64), b.astype(np.int64)], axis=1)
    values, counts = np.unique(stacked, axis=0, return_counts=True)
    return [(int(x), int(y)) for x, y in values.tolist()], counts.tolist()
