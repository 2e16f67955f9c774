"""Parts of benchmarks/faults.py's fault matrix (not benchmarks: faults.py runs them)."""

HANG_S = 30.0  # no outcome within this long counts as a hang
