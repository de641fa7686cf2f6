"""Pieces the terminal, its config and the central service all use, below every other package:
GB/T 2260 division codes (`regions`) and the keyed digests blocklists and velocity are kept as
(`keyed_digests`). Imports nothing of the project's own."""
