"""Runner-free stages, one module per capability; each works on Arrow batches."""
