"""Payroll endpoints (staff only)."""

from django.http import HttpResponse
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from payroll import services
from payroll.models import PayrollReport
from payroll.serializers import ReportRequestInput, ReportSerializer
from zea.accounts.permissions import IsStaff
from zea.errors import Conflict, NotFound
from zea.workflows.engine import actor_of


def _report(report_id) -> PayrollReport:
    report = PayrollReport.objects.filter(pk=report_id).first()
    if report is None:
        raise NotFound(_("No such payroll report."))
    return report


class ReportListView(GenericAPIView):
    permission_classes = [IsStaff]
    serializer_class = ReportSerializer
    queryset = PayrollReport.objects.all()

    @extend_schema(responses=ReportSerializer(many=True))
    def get(self, request):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(ReportSerializer(page, many=True).data)

    @extend_schema(request=ReportRequestInput, responses={202: ReportSerializer, 200: ReportSerializer})
    def post(self, request):
        data = ReportRequestInput(data=request.data)
        data.is_valid(raise_exception=True)
        report, started = services.request_report(
            month=data.validated_data["month"],
            actor=actor_of(request.user),
            regenerate=data.validated_data["regenerate"],
        )
        return Response(
            ReportSerializer(report).data, status=status.HTTP_202_ACCEPTED if started else status.HTTP_200_OK
        )


class ReportDetailView(APIView):
    permission_classes = [IsStaff]

    @extend_schema(responses=ReportSerializer)
    def get(self, request, report_id):
        return Response(ReportSerializer(_report(report_id)).data)


class ReportCsvView(APIView):
    permission_classes = [IsStaff]

    @extend_schema(responses={(200, "text/csv"): OpenApiTypes.STR})
    def get(self, request, report_id):
        report = _report(report_id)
        if report.state != PayrollReport.State.READY:
            raise Conflict(
                _("The report is %(state)s; the CSV exists once it is ready.") % {"state": report.state},
                code="report_not_ready",
            )
        response = HttpResponse(services.csv_bytes(report_id=report.pk), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="payroll-{report.month_label}.csv"'
        return response
