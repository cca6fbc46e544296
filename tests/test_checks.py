"""The library's one module of argument checks (pinn.core.checks): what each accepts, and the
one message shape every option's error has."""

import math

import pytest

from pinn.core.checks import choice, count, number, positive, positive_int


@pytest.mark.parametrize("bad", [0, -3, 2.0, True, "4", None])
def test_positive_int_refuses_and_names_the_option(bad):
    with pytest.raises(ValueError, match=rf"^model.width must be a positive integer, got {bad!r}$"):
        positive_int("model.width", bad)


def test_each_check_returns_what_it_accepted():
    assert positive_int("n", 5) == 5 and count("n", 0) == 0
    assert positive("lr", 1) == 1.0 and isinstance(positive("lr", 1), float)
    assert number("x", -2.5) == -2.5 and number("x", 0, low=0) == 0.0
    assert choice("mode", "b", ("a", "b")) == "b"


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf, False, "1"])
def test_a_number_is_finite_and_never_a_bool(bad):
    with pytest.raises(ValueError, match="must be a finite number"):
        number("x", bad)


def test_bounds_and_hints_are_in_the_message():
    with pytest.raises(ValueError, match=r"^lr must be a finite number > 0, got 0$"):
        positive("lr", 0)
    with pytest.raises(ValueError, match=r"^n must be a finite number >= 1, got 0.5$"):
        number("n", 0.5, low=1)
    with pytest.raises(ValueError, match=r"^every must be an integer >= 0 \(0: off\), got -1$"):
        count("every", -1, hint="(0: off)")
    with pytest.raises(ValueError, match=r"^mode must be one of: a, b \(e.g. mode=a\), got 'c'$"):
        choice("mode", "c", ("a", "b"), hint="(e.g. mode=a)")


def test_the_library_uses_it_from_the_command_line_down():
    """A bad value reaches the same check from the config (a stage, the network, a sampler's count)."""
    from pinn.cli.train import check_config

    for args, message in ((["stages.adam.steps=-1"], "stages.adam.steps must be an integer >= 0"),
                          (["model.width=0"], "model.width must be a positive integer"),
                          (["points.interior=0"], "points.interior must be a positive integer")):
        with pytest.raises(ValueError, match=message):
            check_config(args)
