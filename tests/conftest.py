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


@pytest.fixture(autouse=True)
def _isolated_logging():
    """In-process pinn-train runs (Hydra's logging set-up, the resume path's handlers) add handlers
    bound to the streams pytest captures for that test; removed afterwards, so that a later test
    never logs into a closed stream."""
    import logging

    loggers = [logging.getLogger(), logging.getLogger("pinn")]
    before = [(lg, list(lg.handlers), lg.level, lg.propagate) for lg in loggers]
    yield
    for lg, handlers, level, propagate in before:
        for h in lg.handlers:
            if h not in handlers:
                h.close()
        lg.handlers[:] = handlers
        lg.setLevel(level)
        lg.propagate = propagate
