"""Read-only analyses of corpora and finished outputs: reports, tokenizer parity, translation
consistency. They read Parquet columns and the run manifest, never Beam: an opener passed in
reads other filesystems."""
