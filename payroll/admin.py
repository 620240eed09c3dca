from django.contrib import admin
from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils.html import format_html

from payroll import services
from payroll.models import PayrollReport
from zea.workflows.admin import WorkflowAdmin


@admin.register(PayrollReport)
class PayrollReportAdmin(WorkflowAdmin):
    list_display = ["month", "state", "generated_at", "generation", "csv_link"]
    fields = [
        "execution_id",
        "month",
        "state",
        "time_zone",
        "generated_at",
        "generation",
        "failure_reason",
        "csv_link",
        "totals",
        "rates",
        "created_at",
        "updated_at",
        "timeline",
    ]
    readonly_fields = [
        "month",
        "time_zone",
        "generated_at",
        "generation",
        "failure_reason",
        "csv_link",
        "totals",
        "rates",
    ]
    date_hierarchy = None

    @admin.display(description="CSV")
    def csv_link(self, obj):
        if obj.state != PayrollReport.State.READY:
            return "—"
        return format_html(
            '<a href="{}">payroll-{}.csv</a>', reverse("admin:payroll_csv", args=[obj.pk]), obj.month_label
        )

    def get_urls(self):
        return [
            path("<uuid:report_id>/csv/", self.admin_site.admin_view(self.download_csv), name="payroll_csv"),
            *super().get_urls(),
        ]

    def download_csv(self, request, report_id):
        report = get_object_or_404(PayrollReport, pk=report_id, state=PayrollReport.State.READY)
        response = HttpResponse(services.csv_bytes(report_id=report.pk), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="payroll-{report.month_label}.csv"'
        return response
