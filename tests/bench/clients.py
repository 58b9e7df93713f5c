"""Signed-in users for benchmarks, the environment a benchmarked web server gets, and a lean
HTTP client for load generators."""
import asyncio
import json
import secrets
from datetime import timedelta
from urllib.parse import urlsplit

from django.contrib.auth import get_user_model
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.utils import timezone

# The web process's PostgreSQL pool (config/settings.py DATABASE_POOL_SIZE): without it every
# request on a new thread opens a PostgreSQL connection.
WEB_DATABASE_POOL = {"DATABASE_POOL_SIZE": "8"}


def signed_in_clients(n: int) -> list[tuple[int, str]]:
    """(user id, session key) for n users, sessions written straight to the table: no login view,
    no password hashing (200 PBKDF2 logins would take longer than the benchmark)."""
    User = get_user_model()
    users = User.objects.bulk_create(User(username=f"bench-{i}", password="!bench-no-password") for i in range(n))
    store = SessionStore()
    expire_at = timezone.now() + timedelta(days=1)
    sessions = [
        Session(
            session_key=secrets.token_hex(16),
            expire_date=expire_at,
            session_data=store.encode(
                {
                    "_auth_user_id": str(user.pk),
                    "_auth_user_backend": "django.contrib.auth.backends.ModelBackend",
                    "_auth_user_hash": user.get_session_auth_hash(),
                }
            ),
        )
        for user in users
    ]
    Session.objects.bulk_create(sessions)
    return [(user.pk, s.session_key) for user, s in zip(users, sessions)]


class KeepAliveClient:
    """A minimal HTTP/1.1 client with keep-alive connections, one request at a time on each (a
    request finding them all busy opens another, as a browser does), for the vote load generator.

    Why not httpx: it took 1.3-2.1 ms of CPU per vote in the load generator, which shares the
    2 cores with the server it measures; this takes ~0.15 ms. It speaks only what the bench needs
    (JSON POST, Content-Length answers) and fails loudly on anything else."""

    def __init__(self, base_url: str, headers: dict[str, str]):
        url = urlsplit(base_url)
        self.host, self.port = url.hostname, url.port
        self.headers = "".join(f"{k}: {v}\r\n" for k, v in {"Host": url.netloc, **headers}.items())
        self.idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []

    async def post_json(self, path: str, body: dict) -> tuple[int, bytes]:
        """(status, body). A kept-alive connection that the server closed while idle (uvicorn's
        keep-alive timeout, 5 s) is replaced once, as browsers do: nothing had reached the server."""
        payload = json.dumps(body).encode()
        head = f"POST {path} HTTP/1.1\r\n{self.headers}Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n\r\n"
        request = head.encode() + payload
        while self.idle:
            conn = self.idle.pop()
            if conn[0].at_eof():
                conn[1].close()
                continue
            try:
                return await self._exchange(conn, request)
            except (ConnectionError, asyncio.IncompleteReadError) as exc:
                conn[1].close()
                if isinstance(exc, asyncio.IncompleteReadError) and exc.partial:
                    raise
                break
        return await self._exchange(await asyncio.open_connection(self.host, self.port), request)

    async def _exchange(self, conn, request: bytes) -> tuple[int, bytes]:
        reader, writer = conn
        writer.write(request)
        head = await reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        fields = {k.lower(): v for k, v in (line.split(": ", 1) for line in lines[1:] if line)}
        if "content-length" not in fields:
            writer.close()
            raise ValueError(f"no Content-Length in the answer: {fields}")
        body = await reader.readexactly(int(fields["content-length"]))
        if fields.get("connection", "").lower() == "close":
            writer.close()
        else:
            self.idle.append(conn)
        return status, body

    async def aclose(self) -> None:
        for _, writer in self.idle:
            writer.close()
        self.idle = []
