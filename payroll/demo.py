"""Demo data for payroll (called by zea/demo.py after sessions): last month's report,
generated here synchronously so it is ready to download. Idempotent: one report per month."""

from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import timezone

from payroll import services
from payroll.models import PayrollReport
from zea.accounts.models import User
from zea.workflows import engine


def load(*, coaches, athletes) -> None:
    today = timezone.localtime(timezone.now(), ZoneInfo(settings.ZEA_TIME_ZONE)).date()
    admin = User.objects.filter(is_superuser=True).order_by("pk").first()
    report, _ = services.request_report(month=services.previous_month(today), actor=engine.actor_of(admin))
    if report.state != PayrollReport.State.READY:
        services.generate(report.pk)
