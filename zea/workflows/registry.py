"""Which concrete workflow models exist, by `workflow_type`."""

from functools import cache

from django.apps import apps

from zea.workflows.models import Workflow


@cache
def workflow_types() -> dict[str, type[Workflow]]:
    found = {}
    for model in apps.get_models():
        if issubclass(model, Workflow) and model.workflow_type:
            found[model.workflow_type] = model
    return dict(sorted(found.items()))


def workflow_model(workflow_type: str) -> type[Workflow]:
    return workflow_types()[workflow_type]


def find_execution(execution_id) -> Workflow | None:
    """The workflow row with this execution id, whatever its type."""
    for model in workflow_types().values():
        found = model.objects.filter(pk=execution_id).first()
        if found is not None:
            return found
    return None
