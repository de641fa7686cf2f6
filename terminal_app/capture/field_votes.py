"""One side of one card read from several frames, field by field. Under glare no single frame
may show every field: the lamp's spot burns out the name in one and, once the card is tilted,
the address in the next. Each reading that read its side's key cleanly (the front's number,
valid; the back's authority) votes for the values of the fields it read cleanly (no error of
its own on them), and a field's value is taken when `needed` readings read it the same and more
often than any other value: a misread character is one frame's noise and seldom comes twice.
The values taken are then checked together by the same rules as one reading's (`front_errors`,
`back_errors`): the number validates, the birth date and sex agree with it.

Frames of one hold (the card not moved between them) can misread alike: the lamp's spot sits
where it was and washes out the same characters. So a value that a reading of another hold
contradicts is taken only once two holds have read it; within one hold, the count settles it.

The votes are for one card, both its sides (a person may turn the card before the screen asks,
and what was read of the other side then counts when that side's turn comes). A reading whose
key differs from the one voted for starts that side's votes again: it is another card. A
reading that did not read its key votes for nothing: what it read cannot be tied to the card,
and frames of one hold can misread a field the same way (仡佬 for 仫佬, three frames running,
each with the number cut short)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import date

from terminal_app.capture.fields import (
    BACK_FIELDS,
    FRONT_FIELDS,
    FieldError,
    back_errors,
    county_authority,
    front_errors,
)
from terminal_app.capture.reader import CardReading

SIDE_FIELDS = {"front": FRONT_FIELDS, "back": BACK_FIELDS}
KEYS = {"front": "id_number", "back": "authority"}
# An error on one field that puts another in doubt too: the validity line's glare (or a date not
# read on it) covers both of its dates.
ALSO_DOUBTED = {"valid_to": ("valid_from",)}
REFUSING = ("photocopy",)  # a card-level finding no later frame outvotes
# Failures that are the card's own once readings agree on them: a number read the same way twice
# that fails its check character, a validity read the same way twice that has ended (or not begun).
CARDS_OWN = {"id_number": ("check_character",), "valid_to": ("expired",), "valid_from": ("not_yet_valid",)}
READ_WITH = {"valid_to": ("valid_from", "valid_to"), "valid_from": ("valid_to", "valid_from")}  # the field itself last
# Fields an agent may pick from a list when no frame reads them (the 56 ethnic groups): a card
# whose every other field is agreed and valid is taken with these left empty, never guessed.
PICKABLE = ("ethnicity",)


def voted_fields(reading: CardReading) -> dict[str, str]:
    """The fields of `reading` it read cleanly: each with a value and no error of its own, nor
    one that puts it in doubt; none at all for a reading with an error about the whole card, or
    one that did not read its side's key cleanly."""
    if reading.side not in SIDE_FIELDS or any(e.field in ("card", "side") for e in reading.errors):
        return {}
    doubted = {e.field for e in reading.errors}
    doubted |= {other for e in reading.errors for other in ALSO_DOUBTED.get(e.field, ())}
    if any(e.code.endswith("_mismatch") for e in reading.errors):
        doubted.add("id_number")  # a birth date or sex that disagrees with it: the number may be the misread
    fields = reading.fields
    clean = {key: fields[key] for key in SIDE_FIELDS[reading.side] if fields.get(key) and key not in doubted}
    return clean if KEYS[reading.side] in clean else {}


@dataclass
class FieldVotes:
    """The readings of the card held up now, and what they agree on."""

    today: date
    needed: int = 2  # readings that must read a value the same (1: the first clean reading is taken)
    # each reading with the hold it was made in (None: a hold of its own)
    readings: list[tuple[CardReading, int | None]] = field(default_factory=list)
    refused: bool = False  # a reading found something about the whole card (a photocopy): nothing is taken

    def add(self, reading: CardReading, hold: int | None = None) -> None:
        """One more reading; `hold` numbers the card's holds (the capture counts one each time
        the card moves), None for a reading that shares its hold with no other."""
        if any(e.code in REFUSING for e in reading.errors):
            self.refused = True
        if reading.side not in SIDE_FIELDS:
            return
        key = KEYS[reading.side]
        value = voted_fields(reading).get(key)
        same_side = self.of_side(reading.side)
        if value and any(voted_fields(r).get(key) not in (None, value) for r in same_side):
            # another card's: the side's votes so far were not for this one
            self.readings = [(r, h) for r, h in self.readings if r.side != reading.side]
        self.readings.append((reading, hold))

    def refusal(self, side: str) -> FieldError | None:
        """The card's own failure, when `max(needed, 2)` readings of `side` read the field the same
        way and fail on it the same way: no later frame will read the card otherwise, so the
        capture stops at once instead of asking for it again until its time runs out. Only
        readings a misread is unlikely to explain count: none under glare, none with the side's
        key unread (the back's authority), none about the whole card; and a reading that read
        the field otherwise, and cleanly, vetoes it."""
        seen: dict[tuple, list[FieldError]] = {}
        clean: dict[str, set[str]] = {}  # each field's values read with no error on it
        for reading in self.of_side(side):
            for key, value in voted_fields(reading).items():
                clean.setdefault(key, set()).add(value)
        for reading in self.of_side(side):
            fields = {e.field for e in reading.errors}
            if any(e.field in ("card", "side") or e.code == "glare" for e in reading.errors):
                continue
            if side == "back" and KEYS["back"] in fields:
                continue
            for error in reading.errors:
                if error.code in CARDS_OWN.get(error.field, ()):
                    read_as = tuple(reading.fields.get(key) for key in READ_WITH.get(error.field, (error.field,)))
                    if all(read_as):
                        seen.setdefault((error.field, error.code, read_as), []).append(error)
        agreed = [
            errors
            for (field_name, _, read_as), errors in seen.items()
            if len(errors) >= max(self.needed, 2) and not clean.get(field_name, set()) - {read_as[-1]}
        ]
        return agreed[0][0] if agreed else None

    def settled_unread(self, side: str) -> CardReading | None:
        """The last resort, taken early: `combined(side, pickable=True)` once `max(needed, 2) + 1`
        readings that read the side's key cleanly, none under glare, all failed to read the
        pickable fields and none read one: the recogniser does not read that name on this card
        (no later frame will), so the agent picks it now rather than after every try is spent."""
        own = [r for r in self.of_side(side) if voted_fields(r) and not any(e.code == "glare" for e in r.errors)]
        unread = [r for r in own if all(any(e.field == k and e.code == "not_read" for e in r.errors) for k in PICKABLE)]
        if len(unread) < max(self.needed, 2) + 1 or any(voted_fields(r).get(k) for r in own for k in PICKABLE):
            return None
        return self.combined(side, pickable=True)

    def of_side(self, side: str) -> list[CardReading]:
        """The readings of `side`, in the order they were added."""
        return [reading for reading, _ in self.readings if reading.side == side]

    def for_county(self, county: str | None) -> None:
        """The front's number is known: the back's readings made before it had no county to
        snap the authority's name to (`county_authority`)."""
        for reading in self.of_side("back"):
            if reading.fields.get("authority"):
                reading.fields["authority"] = county_authority(reading.fields["authority"], county)

    def taken(self, side: str, *, may_miss: tuple[str, ...] = ()) -> dict[str, str] | None:
        """Each of the side's fields as the readings agree on it, or None while one is not agreed
        (one of `may_miss` not agreed is left empty instead)."""
        holds: dict[str, dict[str, list[object]]] = {key: {} for key in SIDE_FIELDS[side]}  # value: its holds
        for index, (reading, hold) in enumerate(self.readings):
            if reading.side == side:
                for key, value in voted_fields(reading).items():
                    holds[key].setdefault(value, []).append(("own", index) if hold is None else hold)
        fields = {}
        for key, by_value in holds.items():
            ranked = sorted(by_value.items(), key=lambda item: -len(item[1]))
            value, seen_in = ranked[0] if ranked else ("", [])
            contradicted = any(set(other) - set(seen_in) for _, other in ranked[1:])  # by another hold
            if (
                not ranked
                or len(seen_in) < self.needed
                or (len(ranked) > 1 and len(ranked[1][1]) == len(seen_in))
                or (contradicted and len(set(seen_in)) < 2)
            ):
                if key not in may_miss:
                    return None
                value = ""
            fields[key] = value
        return fields

    def combined(self, side: str, *, pickable: bool = False) -> CardReading | None:
        """A valid reading of `side` made of the values agreed on, when every field is and they
        pass the side's checks together; its card image (the portrait's source) is that of the
        reading that agrees with the most of them. `pickable`: a field of PICKABLE no reading
        agreed on is left empty (the capture's last resort, for an agent to pick)."""
        may_miss = PICKABLE if pickable else ()
        if self.refused or side not in SIDE_FIELDS or (fields := self.taken(side, may_miss=may_miss)) is None:
            return None
        errors = front_errors(fields, self.today) if side == "front" else back_errors(fields, self.today)
        errors = [e for e in errors if not (e.field in may_miss and e.code == "not_read" and not fields[e.field])]
        if errors:
            return None
        own = self.of_side(side)
        best = max(own, key=lambda r: sum(voted_fields(r).get(key) == value for key, value in fields.items()))
        quality = {**best.quality, "readings_combined": sum(1 for r in own if voted_fields(r))}
        return dataclasses.replace(best, fields=dict(fields), errors=[], quality=quality)
