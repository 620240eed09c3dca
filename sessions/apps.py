from django.apps import AppConfig


class CoachingConfig(AppConfig):
    # The label `sessions` belongs to django.contrib.sessions, which the admin needs.
    name = "sessions"
    label = "coaching"
    verbose_name = "Training sessions"
