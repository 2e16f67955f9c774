"""The verification day's queue: check-in, counters, waiting-room displays (issue 17)."""
