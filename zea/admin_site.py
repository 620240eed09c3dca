"""The operators' pages on the default admin site: the dashboard and the state diagrams.

They are added to `admin.site` rather than a custom AdminSite subclass so every app's
`@admin.register` keeps working unchanged and no setting has to name a site class.
"""

from django.contrib import admin
from django.template.response import TemplateResponse
from django.urls import path
from django.utils.safestring import mark_safe

from zea.workflows import dashboard, diagrams
from zea.workflows.registry import workflow_types


def dashboard_view(request):
    context = {
        **admin.site.each_context(request),
        "title": "Operations dashboard",
        "sweep_interval": dashboard.sweep_grace() / 2,
        **dashboard.build(),
    }
    return TemplateResponse(request, "admin/workflows/dashboard.html", context)


def diagrams_view(request):
    # Our own generator's output, its labels escaped there: safe to inline.
    pictures = [
        (workflow_type, model, mark_safe(diagrams.render(model))) for workflow_type, model in workflow_types().items()
    ]
    context = {**admin.site.each_context(request), "title": "Workflow state diagrams", "pictures": pictures}
    return TemplateResponse(request, "admin/workflows/diagrams.html", context)


def _with_operator_pages(get_urls):
    def urls():
        return [
            path("dashboard/", admin.site.admin_view(dashboard_view), name="zea_dashboard"),
            path("diagrams/", admin.site.admin_view(diagrams_view), name="zea_diagrams"),
            *get_urls(),
        ]

    return urls


def install():
    """Idempotent: add the pages once, however often the admin modules are imported."""
    if not getattr(admin.site, "_zea_pages", False):
        admin.site.get_urls = _with_operator_pages(admin.site.get_urls)
        admin.site._zea_pages = True
