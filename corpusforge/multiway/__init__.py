"""Multi-way parallelism of a bitext corpus (Thompson et al. 2024), runner-free.

Every sentence is hashed; bitext pairs that share a sentence are joined into tuples, one
sentence per language, greedily from the highest alignment score down and never merging two
existing tuples. :class:`PairTable` gathers the pairs of a whole corpus (mergeable in any order);
:func:`join_pairs` runs the greedy join and returns a :class:`JoinResult` that answers, for any
pair, its tuple id and degree.
"""

from corpusforge.multiway.join import JoinResult, PairTable, join_pairs, pair_keys, sentence_keys, tuple_id

__all__ = ["JoinResult", "PairTable", "join_pairs", "pair_keys", "sentence_keys", "tuple_id"]
