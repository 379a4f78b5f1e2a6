"""Versioned Arrow schemas as JSON; installed as package data of corpusforge."""
