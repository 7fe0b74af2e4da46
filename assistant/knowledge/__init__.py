"""Cooperation knowledge as data: structured questions answered from the facts database."""
