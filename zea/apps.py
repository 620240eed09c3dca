from django.contrib.admin.apps import AdminConfig


class ZeaAdminConfig(AdminConfig):
    """django.contrib.admin with our site (zea.admin_site.ZeaAdminSite) as the default."""

    default_site = "zea.admin_site.ZeaAdminSite"
