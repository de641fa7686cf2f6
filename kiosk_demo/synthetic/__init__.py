"""Generated, seeded fixtures: people with valid ID numbers (people.py), application forms
(applications.py), both sides of ID cards drawn to the card specification (card.py) and
photographed as a camera sees them held up (photo.py), faces from public-domain portraits doing
the liveness challenges (faces.py) and the attacks on them (spoofs.py). No real person's data."""
