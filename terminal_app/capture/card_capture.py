"""Capturing one side of the ID card from a frame source: every frame through the quality
gate (with the instruction to show), the best good frames through OCR, and each field taken
when two frames of the card held up read it the same (`FieldVotes`): a field under glare in one
frame is read from another once the card is tilted. `IdCardCapture` does both sides and hands
the flow an `IdCardFields` (the capture engine of terminal_app.core.engines).

Nothing here sleeps on a finite source: a video or a folder is read as fast as it decodes; a
camera that gives no frame is waited on (`timeout_s`)."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

import numpy as np

from county_common.regions import lookup_region
from terminal_app.capture.card_spec import LONG_TERM
from terminal_app.capture.field_votes import PICKABLE, FieldVotes
from terminal_app.capture.fields import FieldError
from terminal_app.capture.ocr import OcrEngine, ocr_engine
from terminal_app.capture.quality import (
    BLURRED,
    GLARE,
    MOVING,
    NO_CARD,
    NOT_INSIDE,
    TILTED,
    TOO_FAR,
    FrameCheck,
    QualityThresholds,
    card_look,
    check_frame,
    look_alike,
)
from terminal_app.capture.reader import CardReading, read_card
from terminal_app.capture.sources import Frame, FrameSource
from terminal_app.core.engines import CaptureUnavailable, EngineRun
from terminal_app.core.events import CameraFrame, Instruction, Progress
from terminal_app.core.reasons import Reason, ReasonError
from terminal_app.core.steps import IdCardFields, IdSource

TURN_OVER = Reason("turn_over")
NOT_READ = Reason("card_not_read")
NO_CARD_SEEN = Reason("no_card_seen")
PLACE_AGAIN = Reason("place_again")
SOFT = (GLARE, BLURRED, TILTED)  # a frame with only this wrong may still read: tried when nothing better comes
CHANGE = (NO_CARD, MOVING, NOT_INSIDE, TOO_FAR)  # the card was moved (turned over, say)
OTHER_SIDE = 0.5  # `look_alike` below this, two frames in a row: the card was turned over
STEP = "id_capture"  # core.flow.Step.ID_CAPTURE, as the events name it


@dataclass
class SideCapture:
    """What capturing one side gave: the reading (None if no frame was read), every distinct
    instruction shown in order, and counts."""

    reading: CardReading | None
    instructions: list[str] = field(default_factory=list)  # reason codes, consecutive repeats merged
    frames_seen: int = 0
    frames_read: int = 0  # frames that went through OCR
    read_errors: list[list[str]] = field(default_factory=list)  # each OCR pass's error codes, in order
    problem: Reason | None = None  # why it stopped without a valid reading
    ms: float = 0.0

    def as_json(self) -> dict:
        return {
            "reading": self.reading.as_json() if self.reading else None,
            "instructions": self.instructions,
            "frames_seen": self.frames_seen,
            "frames_read": self.frames_read,
            "read_errors": self.read_errors,
            "problem": self.problem.as_dict() if self.problem else None,
            "ms": round(self.ms, 1),
        }


@dataclass
class CardCapture:
    """The gate and the reader over one frame source."""

    source: FrameSource
    today: date
    engine: OcrEngine | None = None
    thresholds: QualityThresholds = field(default_factory=QualityThresholds)
    good_frames: int = 3  # good frames gathered before the best is read
    patience: int = 8  # or this many frames with only a soft problem (glare, blur, tilt): read the best anyway
    max_reads: int = 9  # OCR passes per side, re-reads and confirmations included
    confirm: bool = True  # a field is taken when a second frame reads it the same (False: one valid reading)
    max_frames: int = 300
    timeout_s: float = 30.0  # a camera giving no frame for this long: give up
    on_check: Callable[[Frame, FrameCheck], None] | None = None  # the preview: each frame and what the gate found
    on_instruction: Callable[[Reason], None] | None = None  # show and speak it
    run: EngineRun | None = None  # the caller's stop signal: StepCancelled within a frame (or the OCR pass under way)
    settle_frames: int = 8  # after a reading refused for glare, frames given to the person to tilt the card
    again_after: int = 2  # reads of one hold failing (glare still there after "tilt"): the person places it again

    def capture(
        self, side: str | None = None, county: str | None = None, votes: FieldVotes | None = None
    ) -> SideCapture:
        """Read the `side` ("front", "back" or None for either) from the next frames; `county`
        is the front's number's county when the back follows it; `votes`, the card's readings
        so far (of either side: the other side's are kept for its turn)."""
        started = time.perf_counter()
        votes = self.new_votes() if votes is None else votes  # the card's readings, field by field
        if side is not None and (earlier := votes.combined(side)) is not None:  # read while the other was asked for
            return SideCapture(earlier, ms=(time.perf_counter() - started) * 1000)
        run = _SideRun(self, side, county, votes, self.engine or ocr_engine())
        other = {"front": "back", "back": "front"}.get(side or "")
        if other and (done := votes.combined(other)) is not None:  # the other side, read just before
            run.show(TURN_OVER)  # the person is told to turn the card over
            run.await_change(done)
        last_frame_at = time.monotonic()
        while run.result.frames_seen < self.max_frames:
            self._check_stop()
            frame = self.source.read()
            if frame is None:
                if self.source.ended or time.monotonic() - last_frame_at > self.timeout_s:
                    break
                run.show(self.source.status)
                time.sleep(0.02)
                continue
            last_frame_at = time.monotonic()
            if run.take(frame):
                break
        result = run.finish()
        result.ms = (time.perf_counter() - started) * 1000
        return result

    def _check_stop(self) -> None:
        if self.run is not None:
            self.run.check()

    def capture_sides(
        self, sides: list[str | None], on_side: Callable[[int, str | None], None] | None = None
    ) -> list[SideCapture]:
        """The `sides` in turn, of one card: one set of votes (what was read of a side before its
        turn counts), and a side after the front read with the front's number's county. Stops
        at the first side not read. `on_side(i, side)` is told as each side starts."""
        votes = self.new_votes()
        county: str | None = None
        captured: list[SideCapture] = []
        for i, side in enumerate(sides):
            if on_side is not None:
                on_side(i, side)
            captured.append(result := self.capture(side, county, votes))
            if result.problem is not None or result.reading is None:
                break
            if result.reading.side == "front":
                region = lookup_region(result.reading.fields["id_number"][:6])
                county = region.name if region else None
                votes.for_county(county)
        return captured

    def new_votes(self) -> FieldVotes:
        """Votes for a new card, as many a field as `confirm` asks."""
        return FieldVotes(self.today, needed=2 if self.confirm else 1)

    def _read_best(
        self,
        candidates: list[tuple[bool, float, int, np.ndarray]],
        read: Callable[[np.ndarray], CardReading],
        side: str | None,
        budget: int,
        votes: FieldVotes | None = None,
        hold: int | None = None,
    ) -> CardReading:
        """OCR the best frame (good ones first, then by score), then the next best, until the
        readings agree on every field of the side (`votes`, which hold the card's earlier
        readings too): another frame's blur and noise fall elsewhere, and a misread character
        seldom comes twice (`hold`: the hold the frames are of; None, each its own). Not after
        glare: the lamp's reflection stays put while the card is held still, so the person is
        asked to tilt it instead. A reading of the side not yet agreed on by a second one
        carries `UNCONFIRMED`."""
        ranked = sorted(candidates, key=lambda item: (not item[0], -item[1], item[2]))
        votes = self.new_votes() if votes is None else votes
        for *_, frame in ranked[: max(1, budget)]:
            reading = read(frame)
            votes.add(reading, hold)  # the other side's reading too: it counts when that side is asked for
            if reading.side not in ("front", "back") or side not in (None, reading.side):
                return reading
            if (combined := votes.combined(reading.side)) is not None:
                return combined
            if _glared(reading):
                return reading
            if (own := votes.refusal(reading.side)) is not None:  # read alike twice, and failing: the card's
                return dataclasses.replace(reading, errors=[own])
            if (partial := votes.settled_unread(reading.side)) is not None:  # all but a field an agent picks
                return partial
        return _unconfirmed(reading)


@dataclass
class _SideRun:
    """One side's capture under way: the frames gathered for OCR and what the person was last
    asked to do."""

    capture: CardCapture
    side: str | None
    county: str | None
    votes: FieldVotes
    engine: OcrEngine
    result: SideCapture = field(default_factory=lambda: SideCapture(None))
    candidates: list[tuple[bool, float, int, np.ndarray]] = field(default_factory=list)  # (good, score, index, frame)
    last_try: tuple[float, np.ndarray] | None = None  # the best frame with a card, if the stream ends
    previous: FrameCheck | None = None
    awaiting_change: bool = False  # after "turn the card over" or "place it again": the same hold is still there
    turned_from: np.ndarray | None = None  # the look of the side read when told to turn it over
    looks_other: int = 0  # frames in a row since then whose card looks like another side
    settling: int = 0  # frames still to pass after "tilt the card" before frames are gathered again
    misses: int = 0  # reads of this hold (since the card last moved) that failed
    tilt_asked: bool = False  # this hold was asked to be tilted for glare
    hold: int = 0  # the holds of the card so far: one more each time it moves

    def show(self, reason: Reason) -> None:
        if not self.result.instructions or self.result.instructions[-1] != reason.code:
            self.result.instructions.append(reason.code)
            if self.capture.on_instruction:
                self.capture.on_instruction(reason)

    def read(self, frame: np.ndarray) -> CardReading:
        self.capture._check_stop()  # an OCR pass takes a few frames' time: not started once stopped
        self.result.frames_read += 1
        reading = read_card(frame, today=self.capture.today, engine=self.engine, county=self.county)
        self.result.read_errors.append([f"{reading.side}:{e.field}:{e.code}" for e in reading.errors])
        self.misses += bool(reading.errors)
        return reading

    def await_change(self, turned: CardReading | None) -> None:
        """Gather nothing until the card moves or goes, or (`turned`: the side the person was told
        to turn over) another side shows."""
        self.awaiting_change, self.looks_other = True, 0
        self.turned_from = card_look(turned.card) if turned is not None and turned.card is not None else None

    def take(self, frame: Frame) -> bool:
        """One frame: through the gate, gathered if fit, and the best gathered read once there
        are enough; True when the side is read (or the reads are used up)."""
        self.result.frames_seen += 1
        check = check_frame(frame.image, self.previous, self.capture.thresholds)
        self.previous = check
        if self.capture.on_check:
            self.capture.on_check(frame, check)
        if check.problem is not None:
            self.show(check.problem)
        if check.problem in CHANGE:  # a new hold: what this one read or failed to read is no guide
            self.misses, self.hold, self.tilt_asked = 0, self.hold + 1, False
            if check.problem == NO_CARD:  # frames from before the card left are of another hold
                self.candidates.clear()
        if self.awaiting_change:
            self.looks_other = self.looks_other + 1 if _looks_other(check, self.turned_from) else 0
            self.awaiting_change = check.problem not in CHANGE and self.looks_other < 2
            return False
        if self.settling:
            self.settling -= 1
            return False
        if check.card is not None:
            rank = check.score + check.card.area_share / 1000  # judged frames before ones only found
            if self.last_try is None or rank > self.last_try[0]:
                self.last_try = (rank, frame.image)
        if check.ok or check.problem in SOFT:
            self.candidates.append((check.ok, check.score, frame.index, frame.image))
        good = sum(1 for item in self.candidates if item[0])
        if good < self.capture.good_frames and len(self.candidates) < self.capture.patience:
            return False
        budget = min(3, self.capture.max_reads - self.result.frames_read)
        reading = self.capture._read_best(self.candidates, self.read, self.side, budget, self.votes, self.hold)
        self.result.reading = reading
        self.candidates.clear()
        return self._after(reading)

    def _after(self, reading: CardReading) -> bool:
        """What a reading asks of the person next; True when the side is done with."""
        if reading.valid and self.side in (None, reading.side):
            return True
        if not _glared(reading) and reading.side in ("front", "back") and self.votes.refusal(reading.side) is not None:
            return True  # the card itself fails its checks: asking for it again would read it the same
        if reading.side in ("front", "back") and self.side not in (None, reading.side):
            self.show(TURN_OVER)
            self.await_change(reading)
            self.last_try = None
        elif self.result.frames_read >= self.capture.max_reads:
            return True
        elif _glared(reading) and not self.tilt_asked:  # the same hold has the same glare: ask for a tilt
            self.show(GLARE)
            self.settling, self.tilt_asked = self.capture.settle_frames, True  # and let them make it
        elif self.misses >= self.capture.again_after:  # this hold fails on every frame (or was not tilted)
            self.show(PLACE_AGAIN)
            self.await_change(None)
        return False

    def finish(self) -> SideCapture:
        """The result, with one last try on the best frame seen if the frames stopped before a
        good one, and the problem if the side was not read. That last reading, if no other
        confirms it, is taken only from a stream that ended (a file, a folder: one image of a
        side is all there is), not from a camera that stopped giving frames or a person who
        never held still: they can show the card again."""
        result = self.result
        wanted = result.reading is not None and self.side in (None, result.reading.side)
        if not wanted and self.last_try is not None:
            reading = self.read(self.last_try[1])
            if reading.side in ("front", "back"):
                self.votes.add(reading, self.hold)
                if (combined := self.votes.combined(reading.side)) is not None:
                    reading = combined
                elif self.capture.confirm and not self.capture.source.ended:
                    reading = _unconfirmed(reading)
            result.reading = reading
        if result.reading is None:
            result.problem = NO_CARD_SEEN if self.last_try is None else NOT_READ
        elif not (result.reading.valid and self.side in (None, result.reading.side)):
            # last resort: every field agreed but one an agent may pick from a list (the ethnicity)
            partial = self.votes.combined("front", pickable=True) if self.side in (None, "front") else None
            if partial is not None:
                result.reading = partial
            else:
                result.problem = NOT_READ
        return result


UNCONFIRMED = FieldError("card", "readings_disagree", "two readings of the card disagreed: hold it still")


def _unconfirmed(reading: CardReading) -> CardReading:
    """`reading`, carrying `UNCONFIRMED` if it is valid: no second frame has read it the same yet."""
    return dataclasses.replace(reading, errors=[UNCONFIRMED]) if reading.valid else reading


def _looks_other(check: FrameCheck, turned_from: np.ndarray | None) -> bool:
    """Whether the frame's card looks like another side than the one the person was told to turn."""
    return check.look is not None and turned_from is not None and look_alike(check.look, turned_from) < OTHER_SIDE


def _glared(reading: CardReading) -> bool:
    return any(e.code == "glare" for e in reading.errors)


def id_card_fields(front: CardReading, back: CardReading | None) -> IdCardFields:
    """The flow's card record from the two readings (both valid)."""
    f = front.fields
    b = back.fields if back else {}
    return IdCardFields(
        id_number=f["id_number"],
        name=f["name"],
        sex={"男": "M", "女": "F"}.get(f["sex"], f["sex"]),
        birth_date=date.fromisoformat(f["birth_date"]),
        ethnicity=f.get("ethnicity", ""),
        address=f.get("address", ""),
        authority=b.get("authority", ""),
        valid_from=date.fromisoformat(b["valid_from"]) if b.get("valid_from") else None,
        valid_to=(b["valid_to"] if b.get("valid_to") == LONG_TERM else date.fromisoformat(b["valid_to"]))
        if b.get("valid_to")
        else None,
        source=IdSource.OCR,
        portrait_jpeg=front.portrait_jpeg(),
        unread=tuple(key for key in PICKABLE if not f.get(key)),
    )


def printed_fields(card: IdCardFields) -> dict[str, str]:
    """The card record back in the reader's keys and forms (`CardReading.fields` of both sides,
    as `SyntheticCard.expected_fields` gives them): the inverse of `id_card_fields`."""
    valid_to = card.valid_to
    return {
        "name": card.name,
        "sex": {"M": "男", "F": "女"}.get(card.sex, card.sex),
        "ethnicity": card.ethnicity,
        "birth_date": card.birth_date.isoformat(),
        "address": card.address,
        "id_number": card.id_number,
        "authority": card.authority,
        "valid_from": card.valid_from.isoformat() if card.valid_from else "",
        "valid_to": valid_to if isinstance(valid_to, str) else (valid_to.isoformat() if valid_to else ""),
    }


@dataclass
class IdCardCapture:
    """The capture engine the flow's caller runs: the portrait side, then the emblem side,
    from one frame source (the camera, opened once by the caller and read by each try)."""

    source: FrameSource
    today: date
    engine: OcrEngine | None = None
    timeout_s: float = 30.0  # a camera giving no frame this long: unavailable
    on_instruction: Callable[[Reason], None] | None = None  # told each instruction too (a person who listens)
    sides: list[SideCapture] = field(default_factory=list)

    def read_card(self, run: EngineRun | None = None) -> IdCardFields:
        """Both sides; the frames, instructions and progress go to `run`'s listener, and `run.stop`
        ends the capture (StepCancelled) within a frame."""
        run = run or EngineRun()

        def instruct(reason: Reason) -> None:
            if self.on_instruction is not None:
                self.on_instruction(reason)
            run.emit(Instruction(STEP, reason))

        def preview(frame: Frame, check: FrameCheck) -> None:
            outline = check.card.quad if check.card is not None else None
            run.emit(CameraFrame(STEP, frame.index, frame.image, card_outline=outline))

        capture = CardCapture(
            self.source,
            self.today,
            self.engine,
            timeout_s=self.timeout_s,
            on_instruction=instruct,
            on_check=preview if run.listener is not None else None,
            run=run,
        )
        sides = ["front", "back"]
        self.sides = capture.capture_sides(sides, lambda i, side: run.emit(Progress(STEP, i, len(sides), side or "")))
        for side in self.sides:
            self._raise_if_failed(side)
        front, back = self.sides
        assert front.reading is not None and back.reading is not None  # read and valid
        return id_card_fields(front.reading, back.reading)

    def _raise_if_failed(self, side: SideCapture) -> None:
        if side.problem is None:  # read, valid, and the side asked for
            return
        if self.source.status.code in ("camera_missing", "camera_lost"):  # lost mid-side: not the card's fault
            raise CaptureUnavailable(str(self.source.status))
        if side.reading is not None and side.reading.errors:
            error = side.reading.errors[0]
            # "ethnicity_not_read"; the number's, the card's and "sex_mismatch"-like codes say which already
            specific = error.field in ("id_number", "side", "card") or error.code.startswith(error.field)
            code = error.code if specific else f"{error.field}_{error.code}"
            raise ReasonError(Reason(code, key="card_not_read_because", detail=error.message))
        raise ReasonError(side.problem or NOT_READ)
