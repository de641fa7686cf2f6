"""`kiosk demo`: the main job end to end (see run.py); the applicants it makes (applicants.py),
its local central service (central.py) and its table (report.py)."""
