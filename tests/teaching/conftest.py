import pytest

from accounts import roles
from teaching.models import Step
from tests.factories import CategoryFactory, VideoFactory


@pytest.fixture
def category(db):
    return CategoryFactory(name="Laparoscopic cholecystectomy")


@pytest.fixture
def steps(category):
    names = ["Port placement", "Calot's triangle dissection", "Critical view of safety", "Clipping"]
    return [
        Step.objects.create(category=category, name=name, position=n, colour="#22aa55" if n == 2 else "")
        for n, name in enumerate(names)
    ]


@pytest.fixture
def video(uploader, category):
    """A published 120 s video of ``uploader`` (the owner)."""
    return VideoFactory(uploader=uploader, category=category, duration=120, title="Lap chole 1")


@pytest.fixture
def stranger(make_user):
    """A signed-in account without any role: it sees no video."""
    return make_user(username="nobody")


@pytest.fixture
def other_viewer(make_user):
    return make_user(roles.VIEWER, username="wes", email="wes@example.org")


@pytest.fixture
def as_user(api):
    def sign_in(user):
        api.force_authenticate(user)
        return api

    return sign_in
