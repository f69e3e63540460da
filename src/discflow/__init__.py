"""discflow: a duplication-on-demand server for optical media."""

__version__ = "0.1.0"
