"""A small FastAPI application standing in for the interview-practice API."""

__version__ = "1.0.0"
