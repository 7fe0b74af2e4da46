"""Cooperation Assistant core: settings, retrieval, answering, the CLI and the HTTP API."""
