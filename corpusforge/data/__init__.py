"""Data the package embeds: the demo sample."""
