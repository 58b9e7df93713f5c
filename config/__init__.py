from config.celery import app as celery_app

# The project's release, recorded in export manifests beside the git commit.
__version__ = "0.5.0"

__all__ = ("__version__", "celery_app")
