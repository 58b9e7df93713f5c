"""ASGI entry point: HTTP through Django, WebSockets through Channels (session auth + origin check)."""
import gc
import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django_asgi_app = get_asgi_application()  # must run before importing consumers (app registry)

from asgiref.sync import sync_to_async  # noqa: E402
from asgiref.wsgi import WsgiToAsgi, WsgiToAsgiInstance  # noqa: E402
from django.contrib.staticfiles.handlers import StaticFilesHandler  # noqa: E402
from django.core.wsgi import get_wsgi_application  # noqa: E402


_WSGI_CALL = WsgiToAsgiInstance.__dict__["run_wsgi_app"].func  # the plain function under @sync_to_async


class _WsgiInstance(WsgiToAsgiInstance):
    # asgiref runs the WSGI app with thread_sensitive=True, i.e. every request of a process on
    # one shared thread: requests would queue behind each other's database waits.
    async def run_wsgi_app(self, body):
        await sync_to_async(_WSGI_CALL, thread_sensitive=False)(self, body)


class ThreadedWsgiToAsgi(WsgiToAsgi):
    """Plain HTTP through Django's WSGI handler, on a worker thread per request.

    All our HTTP views are synchronous. Under Django's ASGI handler each request hops between
    the event loop and threads once per middleware (MiddlewareMixin runs process_request and
    process_response through sync_to_async): py-spy put ~75% of the web tier's CPU per vote
    there. The WSGI handler runs the whole chain in one thread; uvicorn and Channels still
    serve the WebSockets (BENCHMARKS.md, vote ingestion)."""

    async def __call__(self, scope, receive, send):
        await _WsgiInstance(self.wsgi_application, self.duplicate_header_limit)(scope, receive, send)

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from annotate.routing import websocket_urlpatterns as annotate_ws  # noqa: E402
from arena.routing import websocket_urlpatterns as arena_ws  # noqa: E402

application = ProtocolTypeRouter(
    {
        # Static files are few and small; serving them here keeps one process to run.
        "http": ThreadedWsgiToAsgi(StaticFilesHandler(get_wsgi_application())),
        "websocket": AllowedHostsOriginValidator(AuthMiddlewareStack(URLRouter(arena_ws + annotate_ws))),
    }
)

# Everything loaded so far (Django, the apps, their modules) lives as long as the process: move
# it out of the collector's generations, so a full collection during a request scans only what
# requests made (gc.freeze(), as Instagram does for its Django fleet). In A/B runs of the vote
# benchmark web CPU per vote was 2.3–3.9 ms with it and 3.1–4.1 ms without (noisy, BENCHMARKS.md).
gc.freeze()
