from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def tiny_model(tiny_models) -> Path:
    """One tiny local model (tests/conftest.py builds the three once per session)."""
    return tiny_models["tiny-alpha"]
