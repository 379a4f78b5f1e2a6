"""Language codes in one place: anything users or models write (``hi``, ``hi-IN``, ``hin``,
``zh-Hans``, ``__label__hin_Deva``) becomes ISO 639-3 + ISO 15924 script as FLORES-200 and
GlotLID write it (``hin_Deva``)."""

from __future__ import annotations

import functools
import re

import langcodes

# FLORES-200 names individual languages where ISO 639-1 has a macrolanguage.
MACRO_TO_FLORES = {
    "ara": "arb",
    "fas": "pes",
    "msa": "zsm",
    "est": "est",
    "lav": "lvs",
    "uzb": "uzn",
    "swa": "swh",
    "nep": "npi",
    "ori": "ory",
    "pus": "pbt",
    "mon": "khk",
    "aze": "azj",
    "que": "quy",
    "nor": "nob",
    "alb": "als",
    "sqi": "als",
    "kur": "kmr",
    "zho": "zho",
    "yid": "ydd",
    "grn": "gug",
    "kon": "ktu",
    "mlg": "plt",
    "orm": "gaz",
    "aka": "twi",
    "fil": "tgl",  # langcodes reads tl as Filipino; FLORES-200 writes Tagalog, tgl_Latn
}
# Scripts FLORES-200 writes differently from CLDR's likely-subtag data.
LIKELY_TO_FLORES_SCRIPT = {"Kore": "Hang"}

_FLORES_TO_MACRO = {v: k for k, v in MACRO_TO_FLORES.items()}  # later keys win: als -> sqi

_CANONICAL = re.compile(r"^[a-z]{3}_[A-Z][a-z]{3}$")


class LanguageCodeError(ValueError):
    """A code that cannot be read as a language."""


def is_canonical(code: str) -> bool:
    return bool(_CANONICAL.match(code))


@functools.lru_cache(maxsize=4096)
def canonical(code: str, script: str | None = None) -> str:
    """``hi`` -> ``hin_Deva``; ``script`` (ISO 15924, e.g. from the text itself) overrides the
    likely script, so ``hi`` written in Latin letters becomes ``hin_Latn``."""
    raw = code.strip()
    if raw.startswith("__label__"):
        raw = raw[len("__label__") :]
    if not raw:
        raise LanguageCodeError("empty language code")
    try:
        lang = langcodes.Language.get(raw.replace("_", "-"), normalize=True)
        if not lang.language or lang.language == "und":
            raise LanguageCodeError(f"{code!r} names no language")
        alpha3 = lang.to_alpha3()
    except (langcodes.tag_parser.LanguageTagError, LookupError, ValueError) as exc:
        if isinstance(exc, LanguageCodeError):
            raise
        raise LanguageCodeError(f"cannot read {code!r} as a language code: {exc}") from exc
    alpha3 = MACRO_TO_FLORES.get(alpha3, alpha3)
    likely = lang.maximize().script
    chosen = script or lang.script or LIKELY_TO_FLORES_SCRIPT.get(likely, likely)
    if not chosen:
        raise LanguageCodeError(f"no script known for {code!r}; write it as xxx_Scrp (e.g. hin_Deva)")
    return f"{alpha3}_{chosen}"


def language_of(code: str) -> str:
    """ISO 639-3 part of a canonical code: ``hin_Deva`` -> ``hin``."""
    return canonical(code).split("_", 1)[0]


def script_of(code: str) -> str:
    """ISO 15924 part of a canonical code: ``hin_Deva`` -> ``Deva``."""
    return canonical(code).split("_", 1)[1]


def same_language(a: str, b: str) -> bool:
    """Whether two codes name the same language (script ignored): ``en-US`` and ``eng_Latn``."""
    return language_of(a) == language_of(b)


def alpha2(code: str) -> str | None:
    """ISO 639-1 code where one exists (sacremoses and many tools want it): ``hin_Deva`` -> ``hi``."""
    alpha3 = language_of(code)
    alpha3 = _FLORES_TO_MACRO.get(alpha3, alpha3)
    short = str(langcodes.Language.get(alpha3).language)
    return short if len(short) == 2 else None


# --- model labels ---------------------------------------------------------------------------

LABEL_PREFIX = "__label__"

# lid.176 writes a few Wikipedia codes that are not (or not the same) ISO 639 codes. They apply
# only to labels without a script subtag: GlotLID's ``als_Latn`` is Tosk Albanian, as in ISO.
LID176_ALIASES = {"als": "gsw"}  # Alemannic (Wikipedia ``als``), not Tosk Albanian

# Unicode scripts a language's own script is folded from, for languages written with more
# than one Unicode script: Japanese mixes Han and kana, Korean may carry Hanja, and Chinese
# text whose Han characters do not lean Simplified or Traditional reads as ``Hani``.
_HAN = frozenset({"Hani", "Hans", "Hant"})
_FOLDS = {
    "Jpan": _HAN | {"Hira", "Kana", "Hrkt", "Jpan"},
    "Kore": _HAN | {"Hang", "Kore"},
    "Hang": _HAN | {"Hang", "Kore"},
    "Hans": frozenset({"Hani", "Jpan"}),
    "Hant": frozenset({"Hani", "Jpan"}),
}
# ISO 15924 codes that name no writing system: the text tells nothing about the script.
NO_SCRIPT = frozenset({"Zyyy", "Zinh", "Zzzz"})


def fold_script(language_script: str, text_script: str | None) -> str:
    """The script subtag for a language usually written in ``language_script`` whose text shows
    ``text_script``: the text decides (``Deva`` language, ``Latn`` text -> ``Latn``), except that
    a multi-script writing system absorbs its parts (``Jpan`` + ``Hani`` -> ``Jpan``;
    ``Hans`` + ``Hani`` -> ``Hans``, but ``Hans`` + ``Hant`` -> ``Hant``)."""
    language_script = LIKELY_TO_FLORES_SCRIPT.get(language_script, language_script)
    if not text_script or text_script in NO_SCRIPT or text_script == language_script:
        return language_script
    if text_script in _FOLDS.get(language_script, ()):
        return language_script
    return text_script


def script_compatible(code: str, text_script: str | None) -> bool:
    """Whether text whose dominant script is ``text_script`` can be in ``code`` (``hin_Deva``
    text must be Devanagari; ``jpn_Jpan`` accepts Han and kana; no script at all always fits)."""
    script = script_of(code)
    return fold_script(script, text_script) == LIKELY_TO_FLORES_SCRIPT.get(script, script)


def _writes(language_script: str, text_script: str) -> bool:
    """Whether a language usually written in ``language_script`` can use ``text_script`` as its
    own (Chinese: any Han; Japanese: Han or kana; otherwise the same script)."""
    own = LIKELY_TO_FLORES_SCRIPT.get(language_script, language_script)
    return fold_script(language_script, text_script) == own or (own in ("Hans", "Hant") and text_script in _HAN)


@functools.lru_cache(maxsize=65536)
def code_for_label(label: str, text_scripts: str | None = None) -> str:
    """Canonical code for a fastText LID label and the scripts of the text it was predicted for
    (the dominant script, or the writing systems present joined by ``+``, most letters first).

    A label with a script (GlotLID/OpenLID ``__label__hin_Deva``) keeps it. A label without one
    (lid.176 ``__label__hi``) takes the first script of the text the language is usually written
    in, else the text's dominant script (through :func:`fold_script`): ``hi`` + Latin text ->
    ``hin_Latn``; ``zh`` + ``Latn+Hant`` (``Email 地址`` in Traditional) -> ``zho_Hant``; ``ja`` +
    Han/kana -> ``jpn_Jpan``; ``ko`` -> ``kor_Hang``. Text with no script of its own (digits,
    punctuation: ``Zyyy``) gets the language's likely script."""
    raw = label[len(LABEL_PREFIX) :] if label.startswith(LABEL_PREFIX) else label
    parts = raw.replace("-", "_").split("_")
    if len(parts) > 1 and len(parts[1]) == 4:
        return canonical(raw)
    raw = LID176_ALIASES.get(raw, raw)
    likely = script_of(canonical(raw))
    scripts = text_scripts.split("+") if text_scripts else [None]
    chosen = next((s for s in scripts if s and _writes(likely, s)), scripts[0])
    return canonical(raw, fold_script(likely, chosen))
