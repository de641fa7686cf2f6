"""The demo's synthetic applicants, seeded: a person (name, valid ID number, phone), the card
they hold up (both sides, photographed frame by frame), the face the camera sees while they
answer the challenges, and their form. Most are genuine; the scenario cycle mixes in the cases
a kiosk must stop or refer, each made as it happens in front of a real kiosk:

- `bad_number`: the card's number fails its check character (a forged or misprinted card);
- `phone_replay`: a video of the card holder played on a phone held up to the camera;
- `impostor`: someone holds up another person's card (its photo is the other face);
- `blocklisted`: the ID number is on the central blocklist (a known fraud);
- `no_response`: the person sits still and the challenges time out.

Faces are the two public-domain fixture portraits (kiosk_demo.synthetic.faces), so
many applicants share a face; names and numbers are generated per applicant. Frames are made
only when asked for, one applicant at a time (about 30 MB each)."""

from __future__ import annotations

import dataclasses
import random
from dataclasses import dataclass
from datetime import date
from functools import cached_property

import cv2
import numpy as np
from PIL import Image

from kiosk_config.schema import Catalogue
from kiosk_demo.synthetic import faces as synthetic_faces
from kiosk_demo.synthetic import spoofs as synthetic_spoofs
from kiosk_demo.synthetic.applications import make_form
from kiosk_demo.synthetic.card import CardFace, card_for, draw_back, draw_front
from kiosk_demo.synthetic.people import SyntheticPerson, corrupt_check_character, make_people
from kiosk_demo.synthetic.photo import CardHolder, held_sides_frames
from terminal_app.core.steps import FormAnswers
from terminal_app.liveness.challenges import draw_challenges

GENUINE = "genuine"
BAD_NUMBER = "bad_number"
PHONE_REPLAY = "phone_replay"
IMPOSTOR = "impostor"
BLOCKLISTED = "blocklisted"
NO_RESPONSE = "no_response"
# every 10 applicants: 5 genuine, then each case the kiosk must stop or refer
CYCLE = (GENUINE, GENUINE, BAD_NUMBER, GENUINE, PHONE_REPLAY, GENUINE, IMPOSTOR, BLOCKLISTED, GENUINE, NO_RESPONSE)


@dataclass(frozen=True)
class DemoApplicant:
    index: int  # 1, 2, ...
    scenario: str
    person: SyntheticPerson
    card: CardFace  # as printed on the card held up (the bad number's card carries it)
    face: str  # the fixture face the camera sees
    card_photo_face: str  # the face printed on the card (another one for an impostor)
    form: FormAnswers
    assisted: bool  # a field agent is logged in beside the applicant
    challenge_seed: int
    card_level: str = "mild"

    @cached_property
    def _card_images(self) -> tuple[np.ndarray, np.ndarray]:
        rng = random.Random(self.card.id_number)
        photo = Image.fromarray(cv2.cvtColor(synthetic_faces.id_photo(self.card_photo_face), cv2.COLOR_BGR2RGB))
        front = cv2.cvtColor(np.asarray(draw_front(self.card, rng, photo=photo)), cv2.COLOR_RGB2BGR)
        back = cv2.cvtColor(np.asarray(draw_back(self.card, rng)), cv2.COLOR_RGB2BGR)
        return front, back

    def card_frames(self, presentation: int = 1) -> list[np.ndarray]:
        """The front held up, then the back (the person turns the card over), BGR 640 x 480;
        each `presentation` (1, 2, ...) holds it a little differently."""
        return held_sides_frames(list(self._card_images), seed=self._seed(presentation), level=self.card_level)

    def card_holder(self, presentation: int = 1) -> CardHolder:
        """The same person and card as `card_frames`, live: told of glare, they tilt the card."""
        return CardHolder(list(self._card_images), seed=self._seed(presentation), level=self.card_level)

    def _seed(self, presentation: int) -> int:
        return self.index * 100 + (presentation - 1) * 7

    def liveness_frames(self, challenges: int) -> list[np.ndarray]:
        """What the camera sees during one liveness check: the person answering the challenges
        the kiosk draws from `challenge_seed` (or not answering, or a phone replaying them)."""
        kinds = [str(kind) for kind in draw_challenges(self.challenge_seed, challenges)]
        frames = synthetic_faces.challenge_frames(
            self.face, kinds, seed=self.challenge_seed, perform=self.scenario != NO_RESPONSE
        )
        if self.scenario == PHONE_REPLAY:
            return synthetic_spoofs.screen_replay(frames, seed=self.challenge_seed)
        return frames

    def expected_card(self) -> dict[str, str]:
        """The card's fields as printed, in the kiosk's keys."""
        return self.card.expected_fields("front") | self.card.expected_fields("back")


def make_applicants(
    count: int, *, seed: int, today: date, county: str, catalogue: Catalogue, card_level: str = "mild"
) -> list[DemoApplicant]:
    """`count` applicants, the same for the same seed."""
    people = make_people(count, seed=seed, today=today, county=county)
    rng = random.Random(seed * 7919 + 1)
    form_rng = random.Random(seed * 104729 + 3)
    faces = synthetic_faces.PEOPLE
    applicants = []
    for index, person in enumerate(people, start=1):
        scenario = CYCLE[(index - 1) % len(CYCLE)]
        card = card_for(person, rng, today)
        if scenario == BAD_NUMBER:
            card = dataclasses.replace(card, id_number=corrupt_check_character(card.id_number))
        face = faces[index % len(faces)]
        other = faces[(index + 1) % len(faces)]
        applicants.append(
            DemoApplicant(
                index=index,
                scenario=scenario,
                person=person,
                card=card,
                face=face,
                card_photo_face=other if scenario == IMPOSTOR else face,
                form=make_form(form_rng, catalogue, person.phone),
                assisted=index % 2 == 1,
                challenge_seed=seed * 1000 + index,
                card_level=card_level,
            )
        )
    return applicants
