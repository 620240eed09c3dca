"""Emails in the recipient's language (`User.language`), rendered at send time; English
when the recipient chose none."""

import pytest
from django.core import mail

from bookings import services as bookings
from tests.bookings.conftest import new_slot
from tests.conftest import PASSWORD, register_athlete, unique_email
from zea.accounts.services import create_coach
from zea.workflows import outbox
from zea.workflows.models import OutboxMessage

pytestmark = pytest.mark.django_db


def _messages(template):
    return {m.to[0]: m for m in OutboxMessage.objects.filter(template=template)}


def _coach():
    return create_coach(
        email=unique_email("coach"), password=PASSWORD, first_name="Cora", last_name="Coach", hourly_rate="40"
    )


def test_the_welcome_email_is_in_spanish_for_a_spanish_speaking_athlete(anon):
    body = {
        "email": unique_email(),
        "password": PASSWORD,
        "first_name": "Lucía",
        "last_name": "Pérez",
        "language": "es",
    }
    assert anon.post("/api/onboarding/register/", body, format="json").status_code == 201
    message = _messages("onboarding/email/welcome")[body["email"]]
    assert message.language == "es"

    outbox.deliver(message.pk)  # what the worker does

    [sent] = mail.outbox
    assert sent.subject == "Completa tu perfil de ZEA Sport"
    assert sent.body.startswith("Hola, Lucía:\n\n¡Te damos la bienvenida a ZEA Sport!")
    assert "contacto de emergencia" in sent.body and "Welcome" not in sent.body


def test_the_welcome_email_stays_in_english_without_a_preference():
    athlete_user = register_athlete().athlete.user
    email = outbox.render(_messages("onboarding/email/welcome")[athlete_user.email])
    assert email.subject == "Complete your ZEA Sport profile"
    assert email.body.startswith("Hi Ana,\n\nWelcome to ZEA Sport!")


def test_a_booking_confirmation_goes_to_each_party_in_their_own_language():
    athlete_user = register_athlete(complete=True, language="es").athlete.user
    bookings.grant_credits(athlete_id=athlete_user.athlete.pk, amount=3, reason="test", by=None)
    coach = create_coach(
        email=unique_email("coach"), password=PASSWORD, first_name="Cora", last_name="Coach", hourly_rate="40"
    )
    slot = new_slot(coach)
    bookings.book_slot(user=athlete_user, slot_id=slot.pk)

    to_athlete = outbox.render(_messages("bookings/email/confirmed_athlete")[athlete_user.email])
    assert to_athlete.subject.startswith("Reserva confirmada: ") and to_athlete.subject.endswith(" con Cora Coach")
    assert to_athlete.body.startswith("Hola, Ana:\n\nTu sesión de entrenamiento con Cora Coach está reservada para el ")
    assert "Puedes cancelarla desde la app" in to_athlete.body
    assert "Referencia de la reserva: " in to_athlete.body

    to_coach = outbox.render(_messages("bookings/email/confirmed_coach")[coach.user.email])
    assert to_coach.subject.startswith("New booking: Ana Atleta on ")
    assert "Ana Atleta booked your slot" in to_coach.body


def test_a_cancellation_counts_the_refunded_credits_in_spanish():
    athlete_user = register_athlete(complete=True, language="es").athlete.user
    bookings.grant_credits(athlete_id=athlete_user.athlete.pk, amount=3, reason="test", by=None)
    coach = create_coach(
        email=unique_email("coach"), password=PASSWORD, first_name="Cora", last_name="Coach", hourly_rate="40"
    )
    booked = bookings.book_slot(user=athlete_user, slot_id=new_slot(coach, price_credits=2).pk)
    bookings.cancel_booking(user=athlete_user, booking_id=booked.booking.pk)

    email = outbox.render(_messages("bookings/email/cancelled_athlete")[athlete_user.email])
    assert email.subject.startswith("Reserva cancelada: ")
    assert "Se han devuelto 2 créditos a tu saldo." in email.body


def test_the_language_is_the_recipients_when_the_email_is_written():
    """The language is the recipient's when the email is written (a row); it is not re-read."""
    athlete_user = register_athlete().athlete.user
    athlete_user.language = "es"
    athlete_user.save(update_fields=["language"])
    email = outbox.render(_messages("onboarding/email/welcome")[athlete_user.email])
    assert email.subject == "Complete your ZEA Sport profile"
