"""API error `detail`s in the caller's language: Accept-Language, unless the user chose
one (`User.language`, set on registration or with PATCH /api/me/). `code`s never change."""

import pytest
from django.utils import translation

from bookings import services as bookings
from tests.bookings.conftest import new_slot, ready_athlete
from tests.conftest import PASSWORD, client_for, register_athlete, unique_email

pytestmark = pytest.mark.django_db

SPANISH = {"HTTP_ACCEPT_LANGUAGE": "es-ES,es;q=0.9,en;q=0.5"}
ENGLISH = {"HTTP_ACCEPT_LANGUAGE": "en-GB,en;q=0.9"}


def _registration(email):
    return {"email": email, "password": PASSWORD, "first_name": "Lucía", "last_name": "Pérez"}


def test_an_error_is_in_spanish_with_accept_language_es(anon):
    email = unique_email()
    assert anon.post("/api/onboarding/register/", _registration(email), format="json").status_code == 201
    response = anon.post("/api/onboarding/register/", _registration(email), format="json", **SPANISH)
    assert response.status_code == 409
    assert response.json() == {"code": "email_taken", "detail": "Ya existe una cuenta con este correo electrónico."}
    assert response["Content-Language"] == "es"
    assert "Accept-Language" in response["Vary"]


def test_an_error_is_in_english_by_default(anon):
    email = unique_email()
    anon.post("/api/onboarding/register/", _registration(email), format="json")
    response = anon.post("/api/onboarding/register/", _registration(email), format="json")
    assert response.json() == {"code": "email_taken", "detail": "An account with this email already exists."}
    assert response["Content-Language"] == "en"


def test_an_unsupported_language_falls_back_to_english(anon):
    response = anon.get("/api/no/such/thing/", HTTP_ACCEPT_LANGUAGE="de-DE,de;q=0.9")
    assert response.json() == {"code": "not_found", "detail": "No endpoint at /api/no/such/thing/."}


def test_a_service_error_for_an_authenticated_athlete_follows_accept_language(athlete, coach_obj):
    slot = new_slot(coach_obj)  # the athlete's onboarding is not completed: no booking yet
    response = athlete.post("/api/bookings/", {"slot_id": str(slot.pk)}, format="json", **SPANISH)
    assert response.status_code == 403
    assert response.json() == {"code": "onboarding_incomplete", "detail": "Completa tu perfil antes de reservar."}


def test_the_users_language_beats_accept_language():
    spanish_user = register_athlete(language="es").athlete.user
    english_user = register_athlete(language="en").athlete.user
    path = "/api/bookings/00000000-0000-0000-0000-000000000000/"

    response = client_for(spanish_user).get(path, **ENGLISH)
    assert response.json() == {"code": "booking_not_found", "detail": "No existe esa reserva."}
    assert response["Content-Language"] == "es"

    response = client_for(english_user).get(path, **SPANISH)
    assert response.json() == {"code": "booking_not_found", "detail": "No such booking."}
    assert response["Content-Language"] == "en"


def test_without_a_preference_accept_language_decides():
    user = register_athlete().athlete.user
    assert user.language == ""
    response = client_for(user).get("/api/bookings/00000000-0000-0000-0000-000000000000/", **SPANISH)
    assert response.json()["detail"] == "No existe esa reserva."


def test_drf_validation_and_permission_messages_follow_the_users_language(coach_obj):
    user = register_athlete(language="es").athlete.user
    client = client_for(user)
    # DRF's own field messages: the language is active before the body is validated.
    response = client.put("/api/athletes/me/profile/", {}, format="json", **ENGLISH)
    assert response.status_code == 400 and response.json()["code"] == "invalid"
    assert response.json()["errors"]["phone"] == ["Este campo es requerido."]  # DRF's own Spanish
    # Our own permission messages.
    response = client.post("/api/credits/grants/", {}, format="json", **ENGLISH)
    assert response.status_code == 403
    assert response.json() == {"code": "permission_denied", "detail": "Solo para el personal."}
    # Per-field messages of a domain error.
    staff_free_coach = client_for(coach_obj.user)
    past = {"starts_at": "2020-01-01T10:00:00Z", "ends_at": "2020-01-01T11:00:00Z"}
    response = staff_free_coach.post("/api/slots/", past, format="json", **SPANISH)
    assert response.json() == {
        "code": "slot_in_past",
        "detail": "Una franja horaria debe empezar en el futuro.",
        "errors": {"starts_at": ["Está en el pasado."]},
    }


def test_an_interpolated_detail_is_translated_with_its_values(coach_obj):
    user, client = ready_athlete(0)
    slot = new_slot(coach_obj, price_credits=2)
    response = client.post("/api/bookings/", {"slot_id": str(slot.pk)}, format="json", **SPANISH)
    assert response.status_code == 402
    assert response.json() == {
        "code": "insufficient_credits",
        "detail": "La franja horaria cuesta 2 crédito(s); tu saldo es de 0.",
        "balance": 0,
        "price": 2,
    }


@pytest.mark.parametrize(
    ("send", "code"),
    [
        (lambda c, w: c.get("/api/bookings/00000000-0000-0000-0000-000000000000/"), "booking_not_found"),
        (lambda c, w: c.post("/api/bookings/", {"slot_id": str(w["full"].pk)}, format="json"), "slot_full"),
        (lambda c, w: c.post("/api/bookings/", {"slot_id": str(w["mine"].pk)}, format="json"), "already_booked"),
        (lambda c, w: c.post("/api/bookings/", {}, format="json"), "invalid"),
        (lambda c, w: c.get("/api/workflows/"), "permission_denied"),
        (lambda c, w: c.get("/api/nowhere/"), "not_found"),
    ],
)
def test_codes_are_never_translated_only_details(coach_obj, send, code):
    user, client = ready_athlete(5)
    other, _ = ready_athlete(5)
    world = {"full": new_slot(coach_obj), "mine": new_slot(coach_obj)}
    bookings.book_slot(user=other, slot_id=world["full"].pk)
    bookings.book_slot(user=user, slot_id=world["mine"].pk)
    answers = {}
    for language in ("en", "es"):
        client.defaults["HTTP_ACCEPT_LANGUAGE"] = language
        answers[language] = send(client, world).json()
    assert answers["en"]["code"] == answers["es"]["code"] == code
    assert answers["en"]["detail"] != answers["es"]["detail"]


def test_a_user_sets_and_clears_their_language(athlete, athlete_user):
    assert athlete.get("/api/me/").json()["language"] == ""
    response = athlete.patch("/api/me/", {"language": "es"}, format="json")
    assert response.status_code == 200 and response.json()["language"] == "es"
    athlete_user.refresh_from_db()
    assert athlete_user.language == "es"
    missing = athlete.get("/api/bookings/00000000-0000-0000-0000-000000000000/", **ENGLISH).json()
    assert missing["detail"] == "No existe esa reserva."

    response = athlete.patch("/api/me/", {"language": "fr"}, format="json", **ENGLISH)
    assert response.status_code == 400 and response.json()["code"] == "invalid"
    assert "language" in response.json()["errors"]
    assert "no es una elección válida" in response.json()["errors"]["language"][0]  # still Spanish

    assert athlete.patch("/api/me/", {"language": ""}, format="json").json()["language"] == ""
    assert athlete.get("/api/bookings/00000000-0000-0000-0000-000000000000/", **ENGLISH).json()["detail"] == (
        "No such booking."
    )


def test_registration_stores_the_chosen_language(anon):
    body = _registration(unique_email()) | {"language": "es"}
    response = anon.post("/api/onboarding/register/", body, format="json")
    assert response.status_code == 201
    token = response.json()["token"]
    anon.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert anon.get("/api/me/").json()["language"] == "es"


def test_a_request_leaves_no_language_behind(anon):
    user = register_athlete(language="es").athlete.user
    client_for(user).get("/api/me/")
    anon.get("/api/nowhere/", **SPANISH)
    assert translation.get_language() == "en"
