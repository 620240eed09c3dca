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


def find_execution(execution_id, **annotations) -> Workflow | None:
    """The workflow row with this execution id, whatever its type: one query finds the
    type (a UNION over the workflow tables' primary keys), one reads the row (with
    `annotations`, e.g. its deadline)."""
    from django.db.models import CharField, Value

    lookups = [
        model.objects.filter(pk=execution_id).order_by().values_list(Value(name, output_field=CharField()))
        for name, model in workflow_types().items()
    ]
    found = list(lookups[0].union(*lookups[1:], all=True)[:1]) if len(lookups) > 1 else list(lookups[0][:1])
    if not found:
        return None
    return workflow_types()[found[0][0]].objects.annotate(**annotations).filter(pk=execution_id).first()
