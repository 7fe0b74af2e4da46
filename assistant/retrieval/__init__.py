"""Retrieval: hybrid search (dense + BM25, fused by RRF) and the sentence-level evidence pass."""
