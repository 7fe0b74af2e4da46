"""Storage: embeddings, Chroma collections, the lexical index and the facts database."""
