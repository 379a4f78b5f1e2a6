"""Machine translation on CTranslate2: a runner-free translator for any converted model
directory (NLLB-200, M2M-100, Marian/OPUS-MT, generic), its tokenisation, and sentence
splitting. Needs the ``gpu`` (or ``dev``) extra: ctranslate2, sentencepiece, sentencex."""

from corpusforge.mt.tokenize import LanguageNotSupported
from corpusforge.mt.translator import Ct2Engine, Ct2Translator, ModelDirectoryError, ModelInfo, Translation

__all__ = ["Ct2Engine", "Ct2Translator", "LanguageNotSupported", "ModelDirectoryError", "ModelInfo", "Translation"]
