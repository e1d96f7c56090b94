"""The world the hostile tests attack (tests/security/world.py)."""

import pytest

from .world import build_world


@pytest.fixture
def world(make_user):
    return build_world(make_user)
