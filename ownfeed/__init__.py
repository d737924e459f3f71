"""ownfeed: your own copy of everything you publish online."""

__version__ = "0.1.0"
