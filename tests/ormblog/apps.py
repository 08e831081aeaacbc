from django.apps import AppConfig


class BlogConfig(AppConfig):
    name = "ormblog"
    label = "blog"
    default_auto_field = "django.db.models.BigAutoField"
