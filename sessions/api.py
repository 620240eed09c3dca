"""Session endpoints: read, record the real time, athlete feedback, coach evaluation."""

from django.db.models import Prefetch, Q
from drf_spectacular.utils import extend_schema
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from sessions import serializers as s
from sessions import services
from sessions.models import Review, TrainingSession
from zea.accounts.permissions import IsAthlete, IsCoach
from zea.workflows.engine import actor_of


def _sessions_of(user):
    sessions = TrainingSession.objects.prefetch_related(Prefetch("reviews", queryset=Review.objects.all()))
    if user.is_staff:
        return sessions
    return sessions.filter(Q(athlete__user=user) | Q(coach__user=user))


class SessionListView(GenericAPIView):
    serializer_class = s.SessionSerializer

    def get_queryset(self):
        return _sessions_of(self.request.user).order_by("-scheduled_start", "pk")

    @extend_schema(operation_id="sessions_list")
    def get(self, request):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(s.SessionSerializer(page, many=True).data)


class SessionDetailView(APIView):
    @extend_schema(responses=s.SessionSerializer)
    def get(self, request, session_id):
        session = services.session_for(request.user, session_id)
        return Response(s.SessionSerializer(_sessions_of(request.user).get(pk=session.pk)).data)


class RecordTimeView(APIView):
    permission_classes = [IsCoach]

    @extend_schema(request=s.RecordTimeInput, responses=s.SessionSerializer)
    def post(self, request, session_id):
        session = services.session_for(request.user, session_id, as_coach=True)
        data = s.RecordTimeInput(data=request.data)
        data.is_valid(raise_exception=True)
        session = services.record_time(session=session, actor=actor_of(request.user), **data.validated_data)
        return Response(s.SessionSerializer(session).data)


class _ReviewView(APIView):
    """Submit one branch: its party only (others 404), the text under its own name."""

    kind: str
    input_serializer: type
    text_field: str
    party: dict

    def post(self, request, session_id):
        session = services.session_for(request.user, session_id, **self.party)
        data = self.input_serializer(data=request.data)
        data.is_valid(raise_exception=True)
        review = services.submit_review(
            session=session,
            kind=self.kind,
            rating=data.validated_data["rating"],
            text=data.validated_data[self.text_field],
            actor=actor_of(request.user),
        )
        return Response(s.ReviewOutput(review).data)


@extend_schema(request=s.FeedbackInput, responses=s.ReviewOutput)
class FeedbackView(_ReviewView):
    permission_classes = [IsAthlete]
    kind, input_serializer, text_field, party = Review.Kind.FEEDBACK, s.FeedbackInput, "comment", {"as_athlete": True}


@extend_schema(request=s.EvaluationInput, responses=s.ReviewOutput)
class EvaluationView(_ReviewView):
    permission_classes = [IsCoach]
    kind, input_serializer, text_field, party = Review.Kind.EVALUATION, s.EvaluationInput, "notes", {"as_coach": True}
