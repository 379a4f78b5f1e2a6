"""Transliteration engines, runner-free: Brahmic scripts, their romanisations and informal Latin
spelling (:class:`Transliterator`, :mod:`.engine`, :mod:`.romanize`), Urdu to and from
Devanagari (:mod:`.perso_arabic`), and uroman for any script (:class:`UromanTransliterator`,
:mod:`.universal`). Scheme names and which pairs convert: :mod:`.schemes`."""

from __future__ import annotations

from corpusforge.translit.engine import Transliterator
from corpusforge.translit.schemes import (
    BRAHMIC,
    DEVANAGARI,
    INFORMAL,
    ROMAN,
    URDU,
    UROMAN,
    Resolved,
    TransliterationError,
    check_pair,
    resolve,
    run_pattern,
    supported,
)
from corpusforge.translit.universal import UromanTransliterator

Engine = Transliterator | UromanTransliterator


def transliterator(*, source: str, target: str, language: str | None = None, cache_size: int = 200_000) -> Engine:
    """The engine for a source and target (anything :func:`resolve` reads): uroman for target
    ``uroman`` (``source="auto"`` romanises whole texts), else :class:`Transliterator`."""
    if resolve(target).scheme == UROMAN:
        return UromanTransliterator(source=None if source == "auto" else source, language=language, cache_size=cache_size)
    return Transliterator(source=source, target=target, language=language, cache_size=cache_size)


__all__ = [
    "BRAHMIC",
    "DEVANAGARI",
    "INFORMAL",
    "ROMAN",
    "URDU",
    "UROMAN",
    "Engine",
    "Resolved",
    "TransliterationError",
    "Transliterator",
    "UromanTransliterator",
    "check_pair",
    "resolve",
    "run_pattern",
    "supported",
    "transliterator",
]
