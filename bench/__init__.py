"""Benchmarks (`make bench`): our pipeline side by side with a baseline, reported as ratios."""
