from django.urls import path

from payroll import api

urlpatterns = [
    path("payroll/reports/", api.ReportListView.as_view(), name="payroll-report-list"),
    path("payroll/reports/<uuid:report_id>/", api.ReportDetailView.as_view(), name="payroll-report-detail"),
    path("payroll/reports/<uuid:report_id>/csv/", api.ReportCsvView.as_view(), name="payroll-report-csv"),
]
