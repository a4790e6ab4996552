"""data/corpora package."""
