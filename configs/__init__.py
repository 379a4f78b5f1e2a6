"""Recipes (what to do) and runner option files (where to run it); installed as package data."""
