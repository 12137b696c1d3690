"""CareLine: an open-source medical access center."""

__version__ = "0.1.0"
