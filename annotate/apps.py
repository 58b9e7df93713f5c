from django.apps import AppConfig


class AnnotateConfig(AppConfig):
    """Annotation campaigns (issue 4); registered now so migrations have a home."""

    name = "annotate"
