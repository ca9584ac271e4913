"""The --max-drop search (compress/budget.py) on a known response: the order it lifts layers, when it stops, and
its failure when no configuration meets the budget. The end-to-end run on the digits example (real artifacts
measured by the runtime) is tests/compress/test_build_compress.py."""

from __future__ import annotations

import pytest

from edgebuild.compress.budget import Config, Trial, meet_budget
from edgebuild.errors import EdgebuildError

# Drop each compressed layer adds (additive here so the expected answer is easy to state), and plain int8's drop.
COST = {"a": 0.1, "b": 3.0, "c": 1.0}
PLAIN = 0.2


def evaluate(cfg: Config) -> Trial:
    compressed = [k for k in COST if k not in cfg.uncompressed]
    drop = PLAIN + sum(COST[k] for k in compressed) - 0.15 * len(cfg.floats)
    return Trial(cfg, drop, 100 * len(cfg.uncompressed) + 10 * len(compressed))


def test_within_budget_needs_one_trial() -> None:
    r = meet_budget(evaluate, list(COST), 5.0, None)
    assert r.chosen.config == Config() and len(r.trials) == 1


def test_most_sensitive_layers_are_lifted_first() -> None:
    r = meet_budget(evaluate, list(COST), 1.5, None)
    assert r.sensitivity == pytest.approx(COST)
    assert r.chosen.config.uncompressed == {"b"}  # b alone brings 4.3 down to 1.3
    r = meet_budget(evaluate, list(COST), 1.25, None)
    assert r.chosen.config.uncompressed == {"b", "c"}  # then 0.3; b alone gave 1.3
    lifted = [t.config.uncompressed for t in r.trials[2 + len(COST) :]]
    assert lifted == [
        {"b"},
        {"b", "c"},
    ]  # in order of sensitivity, after full, plain and the per-layer trials


def test_plain_int8_when_nothing_less_meets_the_budget() -> None:
    r = meet_budget(evaluate, list(COST), 0.2, None)
    assert r.chosen.config.uncompressed == set(COST) and r.chosen.drop == pytest.approx(PLAIN)


def test_no_configuration_meets_the_budget() -> None:
    with pytest.raises(
        EdgebuildError, match=r"no configuration meets the budget.*0\.20 points.*no float fallback"
    ):
        meet_budget(evaluate, list(COST), 0.1, None)


def test_float_rung_when_available() -> None:
    r = meet_budget(evaluate, list(COST), 0.1, ["a", "b"])
    assert r.chosen.config.uncompressed == set(COST) and len(r.chosen.config.floats) == 1
    with pytest.raises(EdgebuildError, match="even with every layer in float"):
        meet_budget(evaluate, list(COST), -1.0, ["a", "b"])


# --activations auto: each linear layer's drop in static int8, recovered by making it dynamic (additive again)
STATIC_COST = {"fc1": 0.5, "fc2": 2.0, "conv": 0.0}


def evaluate_dynamic(cfg: Config) -> Trial:
    drop = 0.1 + sum(c for k, c in STATIC_COST.items() if k not in cfg.dynamic) - 0.2 * len(cfg.floats)
    return Trial(cfg, drop, 10)


def test_dynamic_rung_before_float() -> None:
    """No compression: the first trial is plain int8 (static); then linear layers go dynamic, most recovering
    first; float only after every linear layer is dynamic."""
    r = meet_budget(
        evaluate_dynamic, [], 1.0, ["fc1", "fc2", "conv"], dynamic_layers=["fc1", "fc2"], compressing=False
    )
    assert r.chosen.config == Config(dynamic=frozenset({"fc2"})) and r.chosen.drop == pytest.approx(0.6)
    assert r.dynamic_sensitivity == pytest.approx({"fc1": 0.5, "fc2": 2.0})
    assert r.trials[0].config == Config()  # static first
    r = meet_budget(
        evaluate_dynamic, [], 0.0, ["fc1", "conv"], dynamic_layers=["fc1", "fc2"], compressing=False
    )
    assert r.chosen.config.dynamic == {"fc1", "fc2"} and len(r.chosen.config.floats) == 1
    with pytest.raises(EdgebuildError, match="with every linear layer dynamic at 0.10 points"):
        meet_budget(evaluate_dynamic, [], 0.0, None, dynamic_layers=["fc1", "fc2"], compressing=False)


def test_failed_trial_is_out_of_budget() -> None:
    """A static trial that does not build (drop inf: a masking constant int8 cannot hold) moves on to dynamic."""

    def fails_static(cfg: Config) -> Trial:
        return Trial(cfg, 0.0 if cfg.dynamic == {"fc1", "fc2"} else float("inf"), 10)

    r = meet_budget(fails_static, [], 0.5, None, dynamic_layers=["fc1", "fc2"], compressing=False)
    assert r.chosen.config.dynamic == {"fc1", "fc2"}
    assert r.report(0.5, r.trials[0])["trials"][0]["accuracy_drop_points"] is None
