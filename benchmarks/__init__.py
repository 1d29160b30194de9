"""Reproducible performance measurements; `make bench` runs them all and prints a table."""
