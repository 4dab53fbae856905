"""Purpose Desktop: teams of AI agents on small local language models."""

__version__ = "0.1.0"
