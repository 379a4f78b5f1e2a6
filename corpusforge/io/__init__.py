"""Readers (files -> Arrow batches of records) and writers (batches -> sharded Parquet)."""
