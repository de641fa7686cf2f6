"""One side of a card read from several frames, field by field (`FieldVotes`): what a reading
votes for, when a value is taken, and what keeps the votes to one card."""

from __future__ import annotations

from datetime import date

from kiosk_demo.synthetic.card import make_cards
from terminal_app.capture.field_votes import FieldVotes, voted_fields
from terminal_app.capture.fields import FieldError
from terminal_app.capture.reader import CardReading

TODAY = date(2026, 11, 25)
CARD, OTHER = make_cards(2, seed=8, today=TODAY)


def reading(side: str, card=CARD, errors: tuple[tuple[str, str], ...] = (), **changed: str) -> CardReading:
    """A reading of `card`'s `side` with fields `changed` (as misread) and `errors` (field, code)."""
    fields = card.expected_fields(side) | changed
    return CardReading(side, fields, [FieldError(name, code, code) for name, code in errors])


def test_a_reading_votes_only_for_what_it_read_cleanly():
    glared = reading("front", errors=(("name", "glare"),), name=CARD.name[:1])
    assert "name" not in voted_fields(glared) and voted_fields(glared)["id_number"] == CARD.id_number
    mismatch = reading("front", errors=(("birth_date", "birth_date_mismatch"),), birth_date="1990-01-01")
    assert {"birth_date", "id_number"}.isdisjoint(voted_fields(mismatch))  # either may be the misread
    period = reading("back", errors=(("valid_to", "glare"),))
    assert set(voted_fields(period)) == {"authority"}  # the line's glare covers both its dates
    copy = reading("front", errors=(("card", "photocopy"),))
    assert voted_fields(copy) == {}
    short = reading("front", errors=(("id_number", "length"),), id_number=CARD.id_number[3:])
    assert voted_fields(short) == {}  # the number not read: nothing ties the rest to the card
    authority = reading("back", errors=(("authority", "glare"),))
    assert voted_fields(authority) == {}


def test_each_field_is_taken_where_two_readings_agree_and_checked_with_the_others():
    votes = FieldVotes(TODAY)
    votes.add(reading("front", errors=(("name", "glare"),), name=""))
    votes.add(reading("front", errors=(("address", "glare"),), address=CARD.address[:5]))
    assert votes.combined("front") is None  # the name and the address read once each
    votes.add(reading("front", errors=(("ethnicity", "not_read"),), ethnicity=""))
    combined = votes.combined("front")
    assert combined.valid and combined.fields == CARD.expected_fields("front")
    assert combined.quality["readings_combined"] == 3
    tied = FieldVotes(TODAY)
    for name in ("秦婷", "荣婷", "秦婷", "荣婷"):
        tied.add(reading("front", name=name))
    assert tied.taken("front") is None  # two values read twice each: neither is taken
    tied.add(reading("front", name="秦婷"))
    assert tied.taken("front")["name"] == "秦婷"
    mismatch = FieldVotes(TODAY)
    for _ in range(3):
        mismatch.add(reading("front", errors=(("birth_date", "birth_date_mismatch"),), birth_date="1990-01-01"))
    assert mismatch.combined("front") is None


def test_votes_are_kept_to_one_card():
    votes = FieldVotes(TODAY)
    votes.add(reading("front", errors=(("name", "glare"),), name=""))
    votes.add(reading("front", OTHER))  # another card's number: this side's votes start again
    votes.add(reading("front", errors=(("address", "glare"),)))  # this card again: the other's votes go
    votes.add(reading("front", errors=(("ethnicity", "glare"),)))
    assert votes.combined("front") is None  # the address read once since: the first reading's vote went
    votes.add(reading("front"))
    assert votes.combined("front").fields == CARD.expected_fields("front")

    unkeyed = FieldVotes(TODAY)  # the number cut short in three frames of one hold, the ethnicity misread in each
    for _ in range(3):
        unkeyed.add(reading("front", errors=(("id_number", "length"),), id_number=CARD.id_number[3:], ethnicity="仡佬"))
    assert unkeyed.taken("front") is None  # not tied to the card: they vote for nothing
    unkeyed.add(reading("front", ethnicity="仫佬"))
    unkeyed.add(reading("front", ethnicity="仫佬"))
    assert unkeyed.combined("front").fields["ethnicity"] == "仫佬"

    copies = FieldVotes(TODAY)
    copies.add(reading("front", errors=(("card", "photocopy"),)))
    copies.add(reading("front"))
    copies.add(reading("front"))
    assert copies.combined("front") is None  # a photocopy seen once: nothing is taken for the card


def test_the_backs_readings_made_before_the_number_was_known_are_snapped_to_its_county():
    votes = FieldVotes(TODAY)
    for _ in range(2):  # read while the front was asked for: no county to snap 城区 (郾 left out) to
        votes.add(reading("back", authority="城区公安局"))
    assert votes.combined("back").fields["authority"] == "城区公安局"  # 城区 is a county's name too
    votes.for_county("郾城区")
    assert votes.combined("back").fields["authority"] == "郾城区公安局"
    votes.for_county("郾城区")  # again: no change
    assert votes.combined("back").fields == CARD.expected_fields("back") | {"authority": "郾城区公安局"}


def test_a_misreading_two_frames_of_one_hold_share_is_outvoted_only_by_another_hold():
    """Medium card 44 of the capture bench: one hold read the whole address, the next (after a
    tilt) read 云安乡 for 云安区松小乡 twice, the glare washing out the same characters. That
    value is contradicted by another hold, so it needs a second hold of its own; noise within
    one hold (荣 once, 秦 twice) is settled by the count."""
    short = CARD.address.replace(CARD.address[8:11], "")
    votes = FieldVotes(TODAY)
    votes.add(reading("front"), hold=1)
    votes.add(reading("front", address=short), hold=2)
    votes.add(reading("front", address=short), hold=2)
    assert votes.taken("front") is None  # two votes, one hold, and another hold reads otherwise
    votes.add(reading("front"), hold=3)
    assert votes.taken("front") is None  # two against two
    votes.add(reading("front"), hold=3)
    assert votes.combined("front").fields["address"] == CARD.address
    noisy = FieldVotes(TODAY)
    for name in ("荣婷", "秦婷", "秦婷"):
        noisy.add(reading("front", name=name), hold=1)
    assert noisy.taken("front")["name"] == "秦婷"


def test_an_ethnicity_no_reading_agrees_on_is_left_for_an_agent_only_as_the_last_resort():
    votes = FieldVotes(TODAY)
    for _ in range(3):
        votes.add(reading("front", errors=(("ethnicity", "not_read"),), ethnicity=""))
    assert votes.combined("front") is None  # the capture goes on trying to read it
    partial = votes.combined("front", pickable=True)
    assert partial.valid and partial.fields == CARD.expected_fields("front") | {"ethnicity": ""}
    unsure = FieldVotes(TODAY)  # two readings, two ethnicities: neither is guessed, the agent asks
    unsure.add(reading("front", ethnicity="汉"))
    unsure.add(reading("front", ethnicity="满"))
    assert unsure.combined("front", pickable=True).fields["ethnicity"] == ""
    other_missing = FieldVotes(TODAY)  # only the ethnicity may be left: a name nobody read still fails
    for _ in range(3):
        unread = (("ethnicity", "not_read"), ("name", "glare"))
        other_missing.add(reading("front", errors=unread, ethnicity="", name=""))
    assert other_missing.combined("front", pickable=True) is None
    assert votes.combined("back", pickable=True) is None
