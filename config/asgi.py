"""ASGI entry point: HTTP through Django, WebSockets through Channels (session auth + origin check)."""
import gc
import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django_asgi_app = get_asgi_application()  # must run before importing consumers (app registry)

from django.conf import settings  # noqa: E402
from django.contrib.staticfiles.handlers import StaticFilesHandler  # noqa: E402
from django.core.wsgi import get_wsgi_application  # noqa: E402

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from annotate.routing import websocket_urlpatterns as annotate_ws  # noqa: E402
from arena.routing import websocket_urlpatterns as arena_ws  # noqa: E402
from config.wsgi_bridge import WsgiBridge  # noqa: E402

application = ProtocolTypeRouter(
    {
        # Static files are few and small; serving them here keeps one process to run.
        # Plain HTTP through Django's WSGI handler on a worker thread (config/wsgi_bridge.py).
        "http": WsgiBridge(StaticFilesHandler(get_wsgi_application()), threads=settings.WEB_THREADS),
        "websocket": AllowedHostsOriginValidator(AuthMiddlewareStack(URLRouter(arena_ws + annotate_ws))),
    }
)

# Everything loaded so far (Django, the apps, their modules) lives as long as the process: move
# it out of the collector's generations, so a full collection during a request scans only what
# requests made (gc.freeze(), as Instagram does for its Django fleet). In A/B runs of the vote
# benchmark web CPU per vote was 2.3–3.9 ms with it and 3.1–4.1 ms without (noisy, BENCHMARKS.md).
gc.freeze()
