"""The second-generation resident ID card as the reader knows it: its size (ISO/IEC 7810 ID-1),
the resolution a found card is rectified to, where its photo lies, the 56 ethnic names its 民族
field prints and the word a long-term card's validity prints. The synthetic card generator draws
cards to this specification; the reader never imports the generator."""

from __future__ import annotations

from terminal_app.core.ethnic_groups import ETHNIC_GROUPS

__all__ = ["CARD_MM", "CARD_PX", "ETHNIC_GROUPS", "LONG_TERM", "PORTRAIT_MM", "PX_PER_MM"]

CARD_MM = (85.6, 54.0)
PX_PER_MM = 10
CARD_PX = (round(CARD_MM[0] * PX_PER_MM), round(CARD_MM[1] * PX_PER_MM))  # 856 x 540
LONG_TERM = "长期"
PORTRAIT_MM = (54.0, 5.0, 80.0, 38.0)  # left, top, right, bottom: the photo area on the portrait side
