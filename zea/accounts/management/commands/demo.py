from django.core.management.base import BaseCommand

from zea import demo


class Command(BaseCommand):
    help = "Load demo users and workflows (idempotent) and print the logins."

    def handle(self, *args, **options):
        logins = demo.load()
        self.stdout.write(self.style.SUCCESS("Demo data ready. Logins:"))
        for line in logins:
            self.stdout.write(f"  {line}")
        self.stdout.write("Open http://127.0.0.1:8000/admin/  ·  API docs http://127.0.0.1:8000/api/docs/")
        self.stdout.write(
            "Health http://127.0.0.1:8000/healthz/  ·  Operator CLI: .venv/bin/python manage.py zea status"
        )
