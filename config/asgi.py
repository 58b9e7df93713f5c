"""ASGI entry point: HTTP through Django, WebSockets through Channels (session auth + origin check)."""
import os

from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler
from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django_asgi_app = get_asgi_application()  # must run before importing consumers (app registry)

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from annotate.routing import websocket_urlpatterns as annotate_ws  # noqa: E402
from arena.routing import websocket_urlpatterns as arena_ws  # noqa: E402

application = ProtocolTypeRouter(
    {
        # Static files are few and small; serving them here keeps one process to run.
        "http": ASGIStaticFilesHandler(django_asgi_app),
        "websocket": AllowedHostsOriginValidator(AuthMiddlewareStack(URLRouter(arena_ws + annotate_ws))),
    }
)
