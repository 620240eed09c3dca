import re
from datetime import date

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from payroll import services

_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


class ReportRequestInput(serializers.Serializer):
    month = serializers.CharField(max_length=7, help_text="YYYY-MM")
    regenerate = serializers.BooleanField(required=False, default=False)

    def validate_month(self, value: str) -> date:
        match = _MONTH.match(value)
        if not match or not 1 <= int(match.group(2)) <= 12 or not 2000 <= int(match.group(1)) <= 2100:
            raise serializers.ValidationError(_("Use YYYY-MM, e.g. 2026-10."))
        month = date(int(match.group(1)), int(match.group(2)), 1)
        if month > services.local_today().replace(day=1):
            raise serializers.ValidationError(_("That month has not started yet."))
        return month


class TotalSerializer(serializers.Serializer):
    coach_id = serializers.UUIDField()
    coach_name = serializers.CharField()
    sessions = serializers.IntegerField()
    minutes = serializers.IntegerField()
    hours = serializers.DecimalField(max_digits=12, decimal_places=2)
    amount = serializers.DecimalField(max_digits=14, decimal_places=2)


class ReportSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="pk")
    execution_id = serializers.UUIDField(source="pk")
    month = serializers.CharField(source="month_label")
    state = serializers.CharField()
    time_zone = serializers.CharField()
    generated_at = serializers.DateTimeField(allow_null=True)
    failure_reason = serializers.CharField()
    totals = TotalSerializer(many=True)
    csv_url = serializers.SerializerMethodField()

    def get_csv_url(self, report) -> str | None:
        return f"/api/payroll/reports/{report.pk}/csv/" if report.state == "ready" else None
