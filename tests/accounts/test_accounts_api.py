"""Token auth and coach accounts."""

import pytest

from tests.conftest import PASSWORD, unique_email
from zea.accounts.models import Coach, User

pytestmark = pytest.mark.django_db


def test_token_for_good_credentials_and_it_authenticates(anon, athlete_user):
    response = anon.post("/api/auth/token/", {"username": athlete_user.email.upper(), "password": PASSWORD})
    assert response.status_code == 200
    anon.credentials(HTTP_AUTHORIZATION=f"Token {response.json()['token']}")
    assert anon.get("/api/onboarding/me/").status_code == 200


@pytest.mark.parametrize(
    "body",
    [{"username": "nobody@example.com", "password": "x"}, {"username": "", "password": ""}, {}, {"username": ["a"]}],
)
def test_bad_credentials_are_a_4xx_with_code_and_detail(anon, body, athlete_user):
    response = anon.post("/api/auth/token/", body, format="json")
    assert response.status_code == 400
    assert {"code", "detail"} <= response.json().keys()


def test_wrong_password(anon, athlete_user):
    response = anon.post("/api/auth/token/", {"username": athlete_user.email, "password": "wrong-password"})
    assert response.status_code == 400 and response.json()["code"] == "invalid_credentials"


def _coach_body(**overrides):
    return {
        "email": unique_email("newcoach"),
        "password": PASSWORD,
        "first_name": "Carla",
        "last_name": "Coach",
        "hourly_rate": "42.50",
    } | overrides


def test_staff_creates_a_coach_who_can_log_in(staff, anon):
    body = _coach_body()
    response = staff.post("/api/coaches/", body)
    assert response.status_code == 201, response.json()
    data = response.json()
    coach = Coach.objects.get(pk=data["coach_id"])
    assert str(coach.hourly_rate) == "42.50" and data["email"] == body["email"]
    assert anon.post("/api/auth/token/", {"username": body["email"], "password": PASSWORD}).status_code == 200


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"email": "not-an-email"}, "email"),
        # valid as an address, longer than the login (username) holds
        ({"email": "a" * 140 + "@example.com"}, "email"),
        ({"hourly_rate": "-1"}, "hourly_rate"),
        ({"hourly_rate": "abc"}, "hourly_rate"),
        ({"password": "123"}, "password"),
        ({"first_name": ""}, "first_name"),
    ],
)
def test_bad_coach_input_is_400_and_creates_nothing(staff, overrides, field):
    before = User.objects.count()
    response = staff.post("/api/coaches/", _coach_body(**overrides))
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid" and body["detail"] and field in body["errors"]
    assert User.objects.count() == before


def test_duplicate_coach_email_is_409(staff, coach_obj):
    response = staff.post("/api/coaches/", _coach_body(email=coach_obj.user.email.upper()))
    assert response.status_code == 409 and response.json()["code"] == "email_taken"


def test_only_staff_create_coaches(anon, athlete, coach):
    assert anon.post("/api/coaches/", _coach_body()).status_code == 401
    for client in (athlete, coach):
        response = client.post("/api/coaches/", _coach_body())
        assert response.status_code == 403 and response.json()["code"] == "permission_denied"
    assert Coach.objects.count() == 1


def test_a_token_brings_its_user_and_role_profiles_in_one_query(
    anon, athlete_user, coach_obj, staff_user, django_assert_num_queries
):
    from rest_framework.authtoken.models import Token
    from rest_framework.exceptions import AuthenticationFailed

    from zea.api.i18n import TokenAuthentication

    auth = TokenAuthentication()
    expected = {athlete_user.pk: (True, False), coach_obj.user_id: (False, True), staff_user.pk: (False, False)}
    for user_id, roles in expected.items():
        key = Token.objects.get_or_create(user_id=user_id)[0].key
        with django_assert_num_queries(1):
            user, _ = auth.authenticate_credentials(key)
            assert (user.is_athlete, user.is_coach) == roles
            profile = user.athlete if roles[0] else user.coach if roles[1] else None
            assert profile is None or profile.user_id == user.pk
    with pytest.raises(AuthenticationFailed):
        auth.authenticate_credentials("not-a-token")
    User.objects.filter(pk=athlete_user.pk).update(is_active=False)
    with pytest.raises(AuthenticationFailed):
        auth.authenticate_credentials(Token.objects.get(user_id=athlete_user.pk).key)
    anon.credentials(HTTP_AUTHORIZATION="Token not-a-token")
    response = anon.get("/api/onboarding/me/")
    assert response.status_code == 401 and {"code", "detail"} <= response.json().keys()
