"""Extraction and cross-checking on a Ray cluster."""
