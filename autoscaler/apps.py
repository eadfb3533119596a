from django.apps import AppConfig


class AutoscalerConfig(AppConfig):
    name = "autoscaler"
