"""Cooperation facts extracted at ingest: agreements, contacts, events (with provenance)."""
