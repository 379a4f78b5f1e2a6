"""Read-only analyses of finished outputs: reports, tokenizer parity and the like. They read
Parquet columns and the run manifest, never Beam: an opener passed in reads other filesystems."""
