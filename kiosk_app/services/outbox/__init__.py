"""Submissions stored durably on the kiosk and sent to the central server exactly once."""
