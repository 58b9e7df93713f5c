"""Who a battle belongs to: a signed-in user, or (where allowed) an anonymous session."""
import re
from dataclasses import dataclass

from django.conf import settings
from django.db.models import Q

from arena.errors import ArenaError


class NotSignedIn(ArenaError):
    code, status, message = "not_signed_in", 401, "Please sign in first."


class AnnotationOnly(ArenaError):
    code, status, message = "annotation_only", 403, "This account is for annotation campaigns only."


# Accounts made by a crowd platform's study link (annotate.services.crowd_user) are in this
# group: they came to annotate, and battles cost generation time the study didn't pay for.
CROWD_GROUP = "crowd"


def arena_access_check(user) -> None:
    """Raises AnnotationOnly for crowd-link accounts. Checked where battles start (one query)."""
    if user is not None and user.is_authenticated and user.groups.filter(name=CROWD_GROUP).exists():
        raise AnnotationOnly()


@dataclass(frozen=True)
class Owner:
    user_id: int | None
    session_key: str = ""

    def filter(self) -> Q:
        """Q selecting this owner's battles."""
        if self.user_id is not None:
            return Q(owner_id=self.user_id)
        return Q(owner__isnull=True, owner_session=self.session_key)

    @property
    def group(self) -> str:
        """The channel-layer group that receives this owner's live events."""
        ident = f"u{self.user_id}" if self.user_id is not None else f"s{self.session_key}"
        return "arena.owner-" + re.sub(r"[^A-Za-z0-9.-]", "-", ident)


def owner_for(user, session) -> Owner:
    """Owner from a request's (or WebSocket scope's) user and session. Raises NotSignedIn."""
    if user is not None and user.is_authenticated:
        return Owner(user_id=user.pk)
    if settings.ARENA["ALLOW_ANONYMOUS"] and session is not None and session.session_key:
        return Owner(user_id=None, session_key=session.session_key)
    raise NotSignedIn()
