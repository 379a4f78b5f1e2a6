"""Read-only analyses of corpora and outputs (tokenizer parity, ...): no Beam, no Stage classes."""
