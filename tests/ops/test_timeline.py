"""The execution page: a vertical timeline, pending timers, related objects, the buttons."""

import pytest

from bookings import services as bookings
from bookings.models import Booking
from sessions.models import TrainingSession
from tests.bookings.conftest import new_slot, ready_athlete
from tests.conftest import register_athlete
from tests.sessions.conftest import book_session, open_branches, record
from zea.workflows import verify
from zea.workflows.models import AuditEvent

pytestmark = pytest.mark.django_db


def test_an_onboarding_shows_its_timeline_timers_and_athlete(admin_client, onboarding):
    page = admin_client.get(f"/admin/onboarding/onboarding/{onboarding.pk}/change/")
    html = page.content.decode()
    assert page.status_code == 200
    assert '<ol class="zea-timeline">' in html
    assert "<b>start</b>: ∅ → <b>awaiting_profile</b>" in html
    user = onboarding.athlete.user
    assert f"user:{user.pk}" in html and f"/admin/accounts/user/{user.pk}/change/" in html  # who
    assert "deadline</b> (deadline): due" in html and "reminder:1" in html  # pending timers
    assert f"/admin/accounts/athlete/{onboarding.athlete.pk}/change/" in html  # related
    assert "/admin/diagrams/#diagram-onboarding" in html  # its state diagram
    assert "_fsm_transition_to" not in html  # nothing for staff to do while it waits


def test_a_session_links_its_booking_athlete_coach_and_reviews(admin_client, coach_obj):
    session = open_branches(record(book_session(coach_obj)))
    user = session.athlete.user
    html = admin_client.get(f"/admin/coaching/trainingsession/{session.pk}/change/").content.decode()
    assert f"/admin/bookings/booking/{session.booking_id}/change/" in html
    assert f"/admin/accounts/coach/{coach_obj.pk}/change/" in html
    assert f"/admin/onboarding/onboarding/{user.athlete.onboarding.pk}/change/" in html
    for review in session.reviews.all():
        assert f"/admin/coaching/review/{review.pk}/change/" in html
    assert html.count("<li class=") == AuditEvent.objects.filter(execution_id=session.pk).count()
    assert "<b>open_reviews</b>: time_recorded → <b>in_review</b>" in html


def test_the_cancel_button_goes_through_the_service_and_the_timeline_grows(admin_client, coach_obj):
    user, _ = ready_athlete(2)
    booked = bookings.book_slot(user=user, slot_id=new_slot(coach_obj).pk)
    url = f"/admin/bookings/booking/{booked.booking.pk}/change/"
    html = admin_client.get(url).content.decode()
    assert 'name="_fsm_transition_to"' in html and "Cancel (refund by policy)" in html
    assert f"/admin/coaching/trainingsession/{booked.session_id}/change/" in html

    assert admin_client.post(url, {"_fsm_transition_to": "cancel"}).status_code == 302
    assert Booking.objects.get(pk=booked.booking.pk).state == "cancelled"
    html = admin_client.get(url).content.decode()
    assert "<b>cancel</b>: confirmed → <b>cancelled</b>" in html
    assert f'by <a href="/admin/accounts/user/{admin_client.user.pk}/change/">' in html
    assert "_fsm_transition_to" not in html


def test_the_lists_show_their_state_diagram(admin_client):
    for url in ["/admin/onboarding/onboarding/", "/admin/bookings/booking/", "/admin/payroll/payrollreport/"]:
        html = admin_client.get(url).content.decode()
        assert "State diagram" in html and "<svg" in html, url


@pytest.mark.parametrize(
    ("execution", "step"),
    [
        ("session", "cancel"),  # the booking's to cancel, with its refund and its place
        ("onboarding", "expire"),  # the deadline's, which also deactivates the user
        ("onboarding", "complete_profile"),  # the profile's, which needs one
        ("session", "no_such_step"),
    ],
)
def test_a_step_without_a_button_cannot_be_posted(admin_client, coach_obj, execution, step):
    user, _ = ready_athlete(2)
    booked = bookings.book_slot(user=user, slot_id=new_slot(coach_obj).pk)
    row = {
        "session": TrainingSession.objects.get(pk=booked.session_id),
        "onboarding": register_athlete(),
    }[execution]
    url = f"/admin/{row._meta.app_label}/{row._meta.model_name}/{row.pk}/change/"
    events = AuditEvent.objects.filter(execution_id=row.pk).count()
    page = admin_client.get(url).context  # the page as staff would send it, inlines and all
    forms = [page["adminform"].form] + [inline.formset.management_form for inline in page["inline_admin_formsets"]]
    data = {f.add_prefix(name): f[name].value() for f in forms for name in f.fields if f[name].value() is not None}
    response = admin_client.post(url, data | {"_fsm_transition_to": step}, follow=True)
    assert response.status_code == 200 and b"not a step offered here" in response.content
    assert type(row).objects.get(pk=row.pk).state == row.state
    assert AuditEvent.objects.filter(execution_id=row.pk).count() == events
    assert not list(verify.verify_all())
