from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "zea.accounts"
    label = "accounts"
    verbose_name = "Accounts"
