"""Batch-API round trips: every model request written as one JSONL file, answers loaded back into the cache."""
