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
}

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
    except (langcodes.tag_parser.LanguageTagError, ValueError) as exc:
        raise LanguageCodeError(f"cannot read {code!r} as a language code: {exc}") from exc
    if not lang.language or lang.language == "und":
        raise LanguageCodeError(f"{code!r} names no language")
    alpha3 = lang.to_alpha3()
    alpha3 = MACRO_TO_FLORES.get(alpha3, alpha3)
    chosen = script or lang.script or lang.maximize().script
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
