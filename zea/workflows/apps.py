from django.apps import AppConfig
from django.db.models.signals import post_migrate


class WorkflowsConfig(AppConfig):
    name = "zea.workflows"
    label = "workflows"
    verbose_name = "Workflow engine"

    def ready(self):
        import zea.lookups  # noqa: F401  (registers `__any`)
        from zea.workflows.schedule import ensure_periodic_tasks

        post_migrate.connect(ensure_periodic_tasks, sender=self, dispatch_uid="zea-periodic-tasks")
