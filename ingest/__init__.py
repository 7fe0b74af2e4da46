"""Ingest: loaders, encodings, normalisation, section-aware chunking with offsets, sync."""
