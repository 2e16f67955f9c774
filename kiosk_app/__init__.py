"""Anjungan: the self-service civil-registration kiosk."""

__version__ = "0.1.0"
