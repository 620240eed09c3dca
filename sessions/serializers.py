from rest_framework import serializers


class RecordTimeInput(serializers.Serializer):
    started_at = serializers.DateTimeField()
    ended_at = serializers.DateTimeField()


class FeedbackInput(serializers.Serializer):
    rating = serializers.IntegerField(min_value=1, max_value=5)
    comment = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


class EvaluationInput(serializers.Serializer):
    rating = serializers.IntegerField(min_value=1, max_value=5)
    notes = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


class BranchSerializer(serializers.Serializer):
    state = serializers.CharField()
    deadline = serializers.DateTimeField(allow_null=True)
    rating = serializers.IntegerField(allow_null=True)
    submitted_at = serializers.DateTimeField(allow_null=True)


NOT_OPEN = {"state": "not_open", "deadline": None, "rating": None, "submitted_at": None}


class SessionSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="pk")
    execution_id = serializers.UUIDField(source="pk")
    state = serializers.CharField()
    booking_id = serializers.UUIDField()
    coach_id = serializers.UUIDField()
    athlete_id = serializers.UUIDField()
    scheduled_start = serializers.DateTimeField()
    scheduled_end = serializers.DateTimeField()
    actual_start = serializers.DateTimeField(allow_null=True)
    actual_end = serializers.DateTimeField(allow_null=True)
    payable_minutes = serializers.IntegerField(allow_null=True)
    feedback = serializers.SerializerMethodField()
    evaluation = serializers.SerializerMethodField()

    def _branch(self, session, kind) -> dict:
        review = next((r for r in session.reviews.all() if r.kind == kind), None)
        return BranchSerializer(review).data if review else NOT_OPEN

    def get_feedback(self, session) -> dict:
        return self._branch(session, "feedback")

    def get_evaluation(self, session) -> dict:
        return self._branch(session, "evaluation")


class ReviewOutput(serializers.Serializer):
    session_id = serializers.UUIDField()
    kind = serializers.CharField()
    state = serializers.CharField()
    rating = serializers.IntegerField()
    submitted_at = serializers.DateTimeField()
