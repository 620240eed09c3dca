from django.apps import AppConfig
from django.db.models.signals import post_migrate


class PayrollConfig(AppConfig):
    name = "payroll"
    verbose_name = "Payroll"

    def ready(self):
        from payroll.schedule import ensure_monthly_entry

        post_migrate.connect(ensure_monthly_entry, sender=self, dispatch_uid="zea-payroll-beat")

        from payroll.services import flag_late_recording
        from sessions.signals import time_recorded

        time_recorded.connect(flag_late_recording, dispatch_uid="zea-payroll-late-recording")
