"""Answering: answerers (extractive by default, or an LLM), citations, declining, sessions."""
