"""The audit trail: append-only at the database, replayable, tamper-evident."""

import pytest
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction

from onboarding.models import Onboarding
from tests.conftest import PROFILE, register_athlete
from zea.workflows import audit, engine
from zea.workflows.models import AuditEvent

pytestmark = pytest.mark.django_db


def test_update_and_delete_are_refused_by_the_database(onboarding):
    event = AuditEvent.objects.get(execution_id=onboarding.pk, seq=1)
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).update(target="completed")
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).delete()
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE workflows_auditevent SET actor = 'x' WHERE id = %s", [event.pk])
    assert AuditEvent.objects.get(pk=event.pk).target == "awaiting_profile"


def test_every_transition_writes_one_chained_event(onboarding):
    from onboarding import services

    services.update_profile(user=onboarding.athlete.user, **PROFILE)
    events = list(AuditEvent.objects.filter(execution_id=onboarding.pk).order_by("seq"))
    assert [(e.seq, e.transition, e.source, e.target) for e in events] == [
        (1, "start", "", "awaiting_profile"),
        (2, "complete_profile", "awaiting_profile", "completed"),
    ]
    assert events[0].prev_hash == "" and events[1].prev_hash == events[0].hash
    assert events[0].actor == events[1].actor == f"user:{onboarding.athlete.user_id}"
    row = Onboarding.objects.get(pk=onboarding.pk)
    assert (row.audit_seq, row.audit_hash) == (2, events[1].hash)


def test_events_hold_ids_and_states_only(onboarding):
    user = onboarding.athlete.user
    for event in AuditEvent.objects.filter(execution_id=onboarding.pk):
        text = f"{event.actor} {event.data} {event.transition} {event.source} {event.target}"
        assert user.email not in text and user.first_name not in text


def test_replay_gives_the_current_state(onboarding):
    from onboarding import services

    assert audit.replay(onboarding).state == "awaiting_profile"
    services.update_profile(user=onboarding.athlete.user, **PROFILE)
    result = audit.replay(Onboarding.objects.get(pk=onboarding.pk))
    assert result.ok, result.problems
    assert result.state == "completed"


def test_refused_transition_is_a_conflict_and_writes_nothing(onboarding):
    from zea.errors import TransitionNotAllowed

    with pytest.raises(TransitionNotAllowed) as refused:
        engine.transition(onboarding, "reopen", actor="user:1")
    assert refused.value.status == 409
    assert AuditEvent.objects.filter(execution_id=onboarding.pk).count() == 1


def _tamper(sql, params):
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE workflows_auditevent DISABLE TRIGGER USER")
        cursor.execute(sql, params)
        cursor.execute("ALTER TABLE workflows_auditevent ENABLE TRIGGER USER")


def test_verify_passes_on_intact_data_and_names_a_tampered_execution(capsys):
    intact = register_athlete(complete=True)
    victim = register_athlete(complete=True)
    call_command("zea", "verify")
    assert "chains intact" in capsys.readouterr().out

    _tamper(
        "UPDATE workflows_auditevent SET actor = 'user:999' WHERE execution_id = %s AND seq = 2",
        [victim.pk],
    )
    with pytest.raises(SystemExit) as exit_:
        call_command("zea", "verify")
    assert exit_.value.code == 1
    out = capsys.readouterr().out
    assert str(victim.pk) in out and "hash mismatch" in out
    assert str(intact.pk) not in out


def test_verify_catches_a_row_moved_without_an_event(capsys):
    victim = register_athlete()
    Onboarding.objects.filter(pk=victim.pk).update(state="completed")
    with pytest.raises(SystemExit):
        call_command("zea", "verify")
    assert f"onboarding {victim.pk}: replay ends in 'awaiting_profile' but the row is 'completed'" in (
        capsys.readouterr().out
    )


def test_replay_command_prints_the_timeline(onboarding, capsys):
    call_command("zea", "replay", str(onboarding.pk))
    out = capsys.readouterr().out
    assert "start" in out and "replay gives 'awaiting_profile' = current state" in out


def test_verify_catches_a_pending_timer_on_a_finished_workflow(capsys):
    from zea.workflows.models import Timer

    done = register_athlete(complete=True)
    Timer.objects.create(
        workflow_type="onboarding", execution_id=done.pk, name="deadline", due_at=done.created_at, is_deadline=True
    )
    with pytest.raises(SystemExit):
        call_command("zea", "verify")
    assert f"onboarding {done.pk}: timer 'deadline' pending in a final state" in capsys.readouterr().out


def test_verify_catches_a_timer_that_fired_without_its_event(capsys):
    from django.utils import timezone

    from zea.workflows.models import Timer

    victim = register_athlete()
    timer = Timer.objects.get(execution_id=victim.pk, name="deadline")
    Timer.objects.filter(pk=timer.pk).update(fired_at=timezone.now(), outcome="expired")
    with pytest.raises(SystemExit):
        call_command("zea", "verify")
    assert f"timer {timer.pk} fired (expired) but 0 audit events name it" in capsys.readouterr().out


def test_verify_reports_an_email_that_gave_up(capsys):
    from django.utils import timezone

    from zea.workflows.models import OutboxMessage

    onboarding = register_athlete()
    OutboxMessage.objects.filter(execution_id=onboarding.pk).update(failed_at=timezone.now())
    with pytest.raises(SystemExit):
        call_command("zea", "verify")
    assert "gave up (failed)" in capsys.readouterr().out
