"""Beam adapters: the only package that imports apache_beam (plus the pipelines)."""
