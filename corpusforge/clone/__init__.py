"""Cloned languages for controlled transfer experiments (Schäfer et al. 2024, "The Role of
Language Imbalance in Cross-lingual Generalisation"), runner-free.

A cloned language is the same text with a duplicated vocabulary: a sentencepiece vocabulary of
size V becomes 2V, and a cloned sequence's token ids are shifted by V. With ``frac_clone`` < 1
only that share of the pieces is cloned; the others stay shared by both languages (anchors) and
are never shifted. Every choice is a stable hash of (seed, key), so a rerun, another runner or
another batching gives the same ids:

- which pieces are cloned: the ``round(frac_clone * n)`` ordinary pieces with the smallest
  hash of (seed, "piece", id) (control and unknown pieces always stay anchors);
- which schedule step (shard) a sequence belongs to: hash of (seed, "shard", id);
- whether it is cloned: hash of (seed, "clone", id) < ``p_clone`` of its step.
"""

from corpusforge.clone.cloner import LanguageCloner, Schedule, mask_from_hex, unclone, unit_hashes

__all__ = ["LanguageCloner", "Schedule", "mask_from_hex", "unclone", "unit_hashes"]
