from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


@pytest.fixture
def burgers_mat():
    path = SHARED_DATA / "burgers_shock.mat"
    if not path.exists():
        pytest.skip(f"{path} is not present (it lives in ../shared/data beside the repository)")
    return path
