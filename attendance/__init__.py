"""attendance: who is actually present at every site of a multi-point video conference."""

__version__ = "0.1.0"
