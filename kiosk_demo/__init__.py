"""`kiosk demo`, the product's main job end to end (run.py), and the synthetic people, cards and
faces it, the tests and the benchmarks are made of (synthetic/): the applicants the demo makes
(applicants.py), its local central service (central.py) and its table (report.py). Not part of a
terminal install: a terminal carries neither this package nor its dependencies."""
