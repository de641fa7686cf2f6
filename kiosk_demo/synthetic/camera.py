"""`--camera synthetic`: the demo's generated applicants in front of a kiosk with no camera
attached (capture/cameras.py's plugin). Each session is the next applicant of the demo's cycle
(or the ones a test names): they hold up their card, then sit for the face check, and they do
what the screen says: told of glare they tilt the card, told to turn it they turn it
(CardHolder), shown a challenge they blink, turn, nod or open their mouth (LivePerson) — or,
as their scenario has it, they do not (no_response), or hold up a phone playing a video
(phone_replay). Frames come at the camera's rate, as a real camera's do; drawing them is the
simulation's cost (`drawing_ms`), not the kiosk's. `unplug()` pulls the cable."""

from __future__ import annotations

import itertools
import threading
import time
from datetime import date

import numpy as np

from kiosk_demo.applicants import NO_RESPONSE, PHONE_REPLAY, DemoApplicant, make_applicants
from kiosk_demo.synthetic import faces as synthetic_faces
from kiosk_demo.synthetic.photo import CardHolder
from kiosk_demo.synthetic.spoofs import PhoneScreen
from terminal_app.capture.sources import CAMERA_LOST, STREAMING, Frame, FrameListSource, FrameSource
from terminal_app.core.events import Instruction, Progress
from terminal_app.core.health import CameraState
from terminal_app.core.kiosk import Kiosk
from terminal_app.core.reasons import Reason

FPS = 15.0
SEED = 11


class LivePerson:
    """The applicant's face in front of the camera, a frame source that answers each challenge
    as it is announced (core.events.Progress): a moment's reaction, then the action eased in,
    held and eased out, then still again (the frames `challenge_frames` draws, but live)."""

    REACTION = 3  # frames between the prompt and the start of the move
    CURVE = (0.35, 0.7, 1.0, 1.0, 0.7, 0.35, 0.0)

    def __init__(self, name: str, *, seed: int, performs: bool = True, phone: PhoneScreen | None = None):
        self._image, self._face = synthetic_faces.base_frame(name), synthetic_faces.base_face(name)
        self._seed, self._performs, self._phone = seed, performs, phone
        self._moves: list[tuple[str, float]] = []
        self._lock = threading.Lock()
        self._index = 0
        self.status = STREAMING

    @property
    def ended(self) -> bool:
        return False

    def hear(self, event: object) -> None:
        if isinstance(event, Progress) and event.step == "liveness" and self._performs and event.label:
            with self._lock:
                self._moves = [(event.label, 0.0)] * self.REACTION + [(event.label, a) for a in self.CURVE]

    def read(self) -> Frame | None:
        with self._lock:
            kind, amount = self._moves.pop(0) if self._moves else ("blink", 0.0)
        image = synthetic_faces.camera_noise(
            synthetic_faces.act(self._image, self._face, kind, amount), self._seed * 1000 + self._index
        )
        if self._phone is not None:
            image = self._phone.show(image)
        frame = Frame(image, self._index, self._index * 1000 / FPS)
        self._index += 1
        return frame

    def close(self) -> None:
        pass


class Paced:
    """A synthetic source at a camera's pace (`fps`), and a cable that can be pulled."""

    def __init__(self, source: FrameSource, camera: SyntheticCamera, fps: float):
        self._source, self._camera, self._period = source, camera, 1.0 / fps
        self._next = time.monotonic()

    @property
    def status(self) -> Reason:
        return CAMERA_LOST if self._camera.unplugged else self._source.status

    @property
    def ended(self) -> bool:
        return self._source.ended and not self._camera.unplugged

    def read(self) -> Frame | None:
        wait = self._next - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        self._next = max(self._next + self._period, time.monotonic() - self._period)
        if self._camera.unplugged:
            return None
        started = time.perf_counter()
        with self._camera.lock:  # the person hears the screen (Kivy's thread) between frames, not during one
            frame = self._source.read()
        self._camera.drawing_ms += (time.perf_counter() - started) * 1000  # the simulation's cost, not the kiosk's
        return frame

    def close(self) -> None:
        self._source.close()


class SyntheticCamera:
    """capture/cameras.py's StepCameras over the demo's applicants, one a session."""

    def __init__(
        self,
        kiosk: Kiosk,
        *,
        applicants: list[DemoApplicant] | None = None,
        seed: int = SEED,
        fps: float = FPS,
        today: date | None = None,
    ):
        config = kiosk.config
        if applicants is None:
            applicants = make_applicants(
                10, seed=seed, today=today or date.today(), county=config.terminal.county, catalogue=config.catalogue
            )
        self._queue = itertools.cycle(applicants)
        self._fps = fps
        self.applicant: DemoApplicant | None = None
        self.unplugged = False
        self.drawing_ms = 0.0  # drawing every frame so far: the simulation's time
        self.lock = threading.Lock()
        self._presentation = 0
        self._listening: list = []  # the card holder or the face now in front of the camera

    challenge_seed = None  # the person answers whatever the kiosk draws

    def new_applicant(self) -> None:
        self.applicant = next(self._queue)
        self._presentation = 0
        self._listening = []

    def _current(self) -> DemoApplicant:
        if self.applicant is None:
            self.new_applicant()
        assert self.applicant is not None
        return self.applicant

    def card_frames(self) -> FrameSource:
        self._presentation += 1
        holder = self._current().card_holder(self._presentation)
        self._listening = [holder]
        return Paced(holder, self, self._fps)

    def face_frames(self) -> FrameSource:
        applicant = self._current()
        phone = PhoneScreen(seed=applicant.challenge_seed) if applicant.scenario == PHONE_REPLAY else None
        person = LivePerson(
            applicant.face, seed=applicant.challenge_seed, performs=applicant.scenario != NO_RESPONSE, phone=phone
        )
        self._listening = [person]
        return Paced(person, self, self._fps)

    def hear(self, event: object) -> None:
        with self.lock:
            self._hear(event)

    def _hear(self, event: object) -> None:
        for listener in list(self._listening):
            if isinstance(event, Instruction) and isinstance(listener, CardHolder):
                listener.hear(event.reason)
            elif isinstance(event, Progress) and isinstance(listener, LivePerson):
                listener.hear(event)

    def unplug(self) -> None:
        self.unplugged = True

    def camera_state(self) -> CameraState:
        return CameraState(found=not self.unplugged)

    def plug_in(self) -> None:
        self.unplugged = False

    def close(self) -> None:
        self._listening = []


Recording = tuple[DemoApplicant, list[np.ndarray], list[np.ndarray]]  # the person, their card's frames, their face's


def record(applicants: list[DemoApplicant], challenges: int) -> list[Recording]:
    """Each applicant's card held up and face answering the challenges their seed draws."""
    return [(a, a.card_frames(), a.liveness_frames(challenges)) for a in applicants]


class RecordedCamera:
    """Recordings of the demo's applicants played at the camera's pace, drawn before the kiosk
    starts: frames that cost the kiosk nothing to get, as a real camera's, for the benchmark of
    the kiosk's own work. A recording answers only the challenges it recorded, so the kiosk draws
    those (`challenge_seed`), and it does not react to the screen."""

    def __init__(self, kiosk: Kiosk, *, recordings: list[Recording], fps: float = FPS):
        self._recordings = itertools.cycle(recordings)
        self._fps = fps
        self._current: Recording | None = None
        self.unplugged = False
        self.drawing_ms = 0.0  # nothing is drawn while the kiosk runs
        self.lock = threading.Lock()

    @property
    def challenge_seed(self) -> int | None:
        return self._current[0].challenge_seed if self._current else None

    def new_applicant(self) -> None:
        self._current = next(self._recordings)

    def card_frames(self) -> FrameSource:
        assert self._current is not None
        return Paced(FrameListSource(self._current[1]), self, self._fps)  # type: ignore[arg-type]

    def face_frames(self) -> FrameSource:
        assert self._current is not None
        return Paced(FrameListSource(self._current[2]), self, self._fps)  # type: ignore[arg-type]

    def hear(self, event: object) -> None:
        pass

    def camera_state(self) -> CameraState:
        return CameraState(found=True)

    def close(self) -> None:
        pass


def recorded(kiosk: Kiosk, **options) -> RecordedCamera:
    """The entry point `kiosk ui --camera recorded` loads (the benchmark's camera)."""
    return RecordedCamera(kiosk, **options)


def synthetic(kiosk: Kiosk, **options) -> SyntheticCamera:
    """The entry point `kiosk ui --camera synthetic` loads."""
    return SyntheticCamera(kiosk, **options)

