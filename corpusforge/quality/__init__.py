"""Per-language quality heuristics, runner-free: signals of one text (:mod:`.heuristics`) and
the rules and thresholds that decide on them (:mod:`.thresholds`). The stages are in
``corpusforge.transforms.quality``."""

from corpusforge.quality.heuristics import SIGNALS, stop_words, text_signals
from corpusforge.quality.thresholds import LANGUAGE_DEFAULTS, RULES, QualityThresholds, failed_rule

__all__ = ["LANGUAGE_DEFAULTS", "RULES", "SIGNALS", "QualityThresholds", "failed_rule", "stop_words", "text_signals"]
