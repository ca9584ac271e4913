"""edgebuild: a trained PyTorch model in, a small, fast, measured int8 program for an ARM device out."""

__version__ = "0.1.0"
