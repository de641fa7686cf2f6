"""The active liveness challenges over generated frame sequences of the two fixture faces:
each challenge passes when done, times out when not, and a second face, a lost face or a
swapped face fails the run."""

from __future__ import annotations

import numpy as np
import pytest

from kiosk_demo.synthetic import faces as sf
from terminal_app.liveness.challenges import ChallengeRun, ChallengeThresholds, Kind, draw_challenges
from terminal_app.liveness.faces import face_models

FPS = 15


def run(frames: list[np.ndarray], kinds: list[Kind], thresholds: ChallengeThresholds | None = None) -> ChallengeRun:
    challenge = ChallengeRun(kinds, thresholds or ChallengeThresholds())
    for i, frame in enumerate(frames):
        challenge.feed(face_models().faces(frame), (frame.shape[1], frame.shape[0]), i * 1000 / FPS)
    challenge.end()
    return challenge


@pytest.mark.slow
@pytest.mark.parametrize("name", sf.PEOPLE)
@pytest.mark.parametrize("kinds", [["blink", "turn_left"], ["turn_right", "open_mouth"], ["nod", "blink"]])
def test_each_challenge_done_passes_with_its_time(name, kinds):
    result = run(sf.challenge_frames(name, kinds, seed=1), [Kind(k) for k in kinds])
    assert result.passed and result.failure is None
    assert [r.kind for r in result.results] == kinds
    assert all(0 < r.ms < 2000 for r in result.results)


@pytest.mark.parametrize("name", sf.PEOPLE)
def test_sitting_still_times_out_and_never_passes(name):
    kinds = [Kind.BLINK, Kind.OPEN_MOUTH]
    result = run(sf.challenge_frames(name, list(kinds), seed=2, perform=False), kinds,
                 ChallengeThresholds(challenge_ms=1500))  # fmt: skip
    assert not result.passed and result.failure.code == "challenge_timeout"
    assert result.results[0].passed is False


def test_the_wrong_action_does_not_count_for_another():
    """Asked to turn left, the person turns right, then opens the mouth: neither is a left turn."""
    frames = sf.challenge_frames("astronaut", ["turn_right", "open_mouth"], seed=3)
    result = run(frames, [Kind.TURN_LEFT], ChallengeThresholds(challenge_ms=10_000))
    assert not result.passed and result.failure.code == "challenge_timeout"


def test_a_second_face_fails_the_run():
    frames = sf.challenge_frames("astronaut", ["blink"], seed=4)
    other = sf.base_frame("hopper")
    for i in range(8, 12):  # someone leans into the picture
        frames[i] = np.hstack([frames[i][:, :400], other[:, 180:420]])
    result = run(frames, [Kind.BLINK])
    assert not result.passed and result.failure.code in ("several_faces", "face_swapped")


def test_a_swapped_face_fails_the_run():
    frames = sf.challenge_frames("astronaut", ["blink", "open_mouth"], seed=5)
    moved = sf.challenge_frames("hopper", ["blink", "open_mouth"], seed=5)
    shifted = [np.roll(f, 200, axis=1) for f in moved]  # the other person, standing elsewhere
    result = run(frames[:10] + shifted[10:], [Kind.BLINK, Kind.OPEN_MOUTH])
    assert not result.passed and result.failure.code == "face_swapped"


def test_a_face_that_leaves_fails_the_run_and_no_face_at_all_never_starts():
    frames = sf.challenge_frames("hopper", ["open_mouth"], seed=6)
    empty = np.full_like(frames[0], 120)
    result = run(frames[:7] + [empty] * 10 + frames[7:], [Kind.OPEN_MOUTH])
    assert not result.passed and result.failure.code == "face_lost"
    nobody = run([empty] * 20, [Kind.BLINK])
    assert not nobody.passed and nobody.failure.code == "no_frames" and nobody.baseline is None


def test_challenges_are_drawn_at_random_per_seed_without_two_turns():
    drawn = [tuple(draw_challenges(seed, 3)) for seed in range(200)]
    assert len(set(drawn)) > 20
    assert all(len(set(d)) == 3 and not {Kind.TURN_LEFT, Kind.TURN_RIGHT} <= set(d) for d in drawn)
    assert draw_challenges(7, 2) == draw_challenges(7, 2)
