"""The state diagrams in docs/ are drawn from the FSM definitions and kept current."""

from zea.workflows import diagrams
from zea.workflows.registry import workflow_types


def test_checked_in_diagrams_are_current():
    stale = diagrams.stale()
    assert not stale, f"stale diagrams {[str(p) for p in stale]}: run `manage.py zea diagrams` and commit docs/"


def test_a_diagram_draws_every_state_and_transition():
    for model in workflow_types().values():
        svg = diagrams.render(model)
        assert svg == diagrams.render(model)  # deterministic
        for state in diagrams.states_of(model):
            assert f">{state}</text>" in svg
        for edge in diagrams.edges_of(model):
            assert f">{edge.name}</text>" in svg


def test_transitions_come_from_django_fsm():
    from payroll.models import PayrollReport

    edges = {(e.source, e.target, e.name) for e in diagrams.edges_of(PayrollReport)}
    assert ("failed", "generating", "generate") in edges and ("ready", "pending", "regenerate") in edges
    assert ("", "pending", "start") in edges
