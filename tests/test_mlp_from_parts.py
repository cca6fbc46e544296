"""The MLP is its parts put together (issue 29): MLP.from_parts composes parts a user builds, and
the keyword constructor is the same composition."""

import pytest
import torch

from pinn.nets.mlp import MLP, jet_support
from pinn.nets.parts import FourierFeatures, InputScaling, ModifiedTrunk, PeriodicEmbedding, PlainTrunk, activations

LOWER, UPPER = torch.tensor([0.0, -1.0]), torch.tensor([2.0, 1.0])


def _parts(seed, *, modified=False):
    g = torch.Generator().manual_seed(seed)
    scaling = InputScaling(LOWER, UPPER, dtype=torch.float64)
    periodic = PeriodicEmbedding([0], features=2)
    fourier = FourierFeatures(4, features=3, scale=2.0, generator=g, dtype=torch.float64)
    trunk = (ModifiedTrunk if modified else PlainTrunk)(
        11, width=16, depth=3, outputs=2, activations=activations("tanh", count=3 + 2 * modified),
        generator=g, dtype=torch.float64)
    return scaling, [periodic, fourier], trunk


@pytest.mark.parametrize("modified", [False, True])
def test_from_parts_is_the_keyword_constructor(modified):
    scaling, embeddings, trunk = _parts(5, modified=modified)
    a = MLP.from_parts(scaling, trunk, embeddings=embeddings)
    b = MLP(LOWER, UPPER, width=16, depth=3, outputs=2, generator=torch.Generator().manual_seed(5),
            dtype=torch.float64, periodic=(0,), fourier_features=4, fourier_scale=2.0, modified=modified)
    assert a.state_dict().keys() == b.state_dict().keys()
    for k, v in a.state_dict().items():
        assert torch.equal(v, b.state_dict()[k]), k
    x = torch.rand(50, 2, dtype=torch.float64) * 2 - torch.tensor([0.0, 1.0], dtype=torch.float64)
    assert torch.equal(a(x), b(x))
    assert a.part(FourierFeatures) is embeddings[1] and jet_support(a) is None and jet_support(b) is None


def test_a_plain_network_from_parts_runs_on_the_jet_engines():
    g = torch.Generator().manual_seed(0)
    net = MLP.from_parts(InputScaling(LOWER, UPPER), PlainTrunk(2, width=8, depth=2, outputs=1,
                                                                activations=activations("tanh", count=2), generator=g))
    assert jet_support(net) is None


def test_parts_that_do_not_fit_are_refused():
    scaling, (periodic, fourier), trunk = _parts(0)
    with pytest.raises(ValueError, match="FourierFeatures takes 3 features, but the part before it gives 2"):
        MLP.from_parts(scaling, trunk, embeddings=[fourier])
    with pytest.raises(ValueError, match="the trunk takes 11 features, but the embeddings give 3"):
        MLP.from_parts(scaling, trunk, embeddings=[periodic])
    with pytest.raises(TypeError, match="trunk must be a PlainTrunk or a ModifiedTrunk"):
        MLP.from_parts(scaling, torch.nn.Linear(2, 1))
