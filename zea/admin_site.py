"""The admin site: Django's, plus the operators' pages (dashboard, state diagrams).

Installed as the default site (`zea.apps.ZeaAdminConfig`), so every app's
`@admin.register` lands on it unchanged.
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


class ZeaAdminSite(admin.AdminSite):
    site_header = "ZEA Sport administration"
    site_title = "ZEA Sport"

    def get_urls(self):
        return [
            path("dashboard/", self.admin_view(dashboard_view), name="zea_dashboard"),
            path("diagrams/", self.admin_view(diagrams_view), name="zea_diagrams"),
            *super().get_urls(),
        ]
