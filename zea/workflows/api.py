"""Operator surface over HTTP: an execution's timeline, and the list of executions."""

from django.db.models import CharField, Value
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from zea.accounts.permissions import IsStaff
from zea.errors import Invalid, NotFound
from zea.workflows.models import AuditEvent
from zea.workflows.registry import find_execution, workflow_types
from zea.workflows.status import deadlines_of, overdue_deadline, timeline


def _max_length(name: str) -> int:
    return AuditEvent._meta.get_field(name).max_length


# An audit event as the timeline shows it (`status.TIMELINE_FIELDS`). Declared, not a
# ModelSerializer: that one builds its fields from the model on every request, which was
# a fifth of the status query's CPU with ten events.
class EventSerializer(serializers.Serializer):
    seq = serializers.IntegerField(min_value=0, max_value=2147483647)
    at = serializers.DateTimeField()
    transition = serializers.CharField(max_length=_max_length("transition"))
    source = serializers.CharField(max_length=_max_length("source"), required=False, allow_blank=True)
    target = serializers.CharField(max_length=_max_length("target"))
    actor = serializers.CharField(max_length=_max_length("actor"))


class ExecutionSerializer(serializers.Serializer):
    execution_id = serializers.UUIDField()
    type = serializers.CharField()
    state = serializers.CharField()
    version = serializers.IntegerField()
    deadline = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class TimelineSerializer(ExecutionSerializer):
    events = EventSerializer(many=True)


class WorkflowDetailView(APIView):
    """Staff, or a party to the execution (its athlete, its coach)."""

    @extend_schema(responses=TimelineSerializer)
    def get(self, request, execution_id):
        workflow = find_execution(execution_id)
        if workflow is None or not (request.user.is_staff or workflow.is_party(request.user)):
            raise NotFound(_("No such workflow execution."))
        events = timeline(workflow.pk)
        return Response(
            TimelineSerializer(
                {
                    "execution_id": workflow.pk,
                    "type": workflow.workflow_type,
                    "state": workflow.state,
                    "version": workflow.version,
                    "deadline": workflow.deadline,
                    "created_at": workflow.created_at,
                    "updated_at": workflow.updated_at,
                    "events": events,
                }
            ).data
        )


class WorkflowListView(GenericAPIView):
    permission_classes = [IsStaff]
    serializer_class = ExecutionSerializer

    @extend_schema(
        operation_id="workflows_list",
        parameters=[
            OpenApiParameter("type", OpenApiTypes.STR, description="onboarding, booking, session or payroll"),
            OpenApiParameter("state", OpenApiTypes.STR),
            OpenApiParameter("overdue", OpenApiTypes.BOOL),
        ],
    )
    def get(self, request):
        params = request.query_params
        types = workflow_types()
        wanted = params.get("type")
        if wanted and wanted not in types:
            raise Invalid(
                _("Unknown workflow type %(type)r; one of %(types)s.") % {"type": wanted, "types": ", ".join(types)},
                code="invalid_filter",
            )
        state = params.get("state")
        known_states = {value for model in types.values() for value, _ in model._meta.get_field("state").choices}
        if state and state not in known_states:
            raise Invalid(_("Unknown state %(state)r.") % {"state": state}, code="invalid_filter")
        overdue = params.get("overdue")
        if overdue not in (None, "", "true", "false", "1", "0"):
            raise Invalid(_("overdue must be true or false."), code="invalid_filter")
        now = timezone.now()
        parts = []
        for workflow_type, model in types.items():
            if wanted and workflow_type != wanted:
                continue
            qs = model.objects.all()
            if params.get("state"):
                qs = qs.filter(state=params["state"])
            if overdue in ("true", "1"):
                qs = qs.filter(overdue_deadline(now))
            elif overdue in ("false", "0"):
                qs = qs.exclude(overdue_deadline(now))
            parts.append(
                qs.annotate(type=Value(workflow_type, output_field=CharField())).values(
                    "execution_id", "type", "state", "version", "created_at", "updated_at"
                )
            )
        union = parts[0].union(*parts[1:], all=True) if len(parts) > 1 else parts[0]
        page = self.paginate_queryset(union.order_by("-created_at", "execution_id"))
        deadlines = deadlines_of([row["execution_id"] for row in page])
        for row in page:
            row["deadline"] = deadlines.get(row["execution_id"])
        return self.get_paginated_response(ExecutionSerializer(page, many=True).data)
