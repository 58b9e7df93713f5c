"""Arena data: contenders, battles, turns, per-side responses, votes (DESIGN.md "Data model")."""
import uuid
from urllib.parse import urlsplit

from django.conf import settings
from django.db import models
from django.core.exceptions import ValidationError
from django.db.models import Q


def validate_base_url(value: str) -> None:
    """http(s) with a host; unlike URLField, single-label hosts (a compose service name) are fine."""
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValidationError("Enter an http:// or https:// URL with a host, e.g. http://vllm:8000/v1")


class Backend(models.TextChoices):
    TRANSFORMERS = "TRANSFORMERS", "transformers (local folder or hub id)"
    OPENAI = "OPENAI", "OpenAI-compatible endpoint"


class Contender(models.Model):
    slug = models.SlugField(max_length=60, unique=True, help_text="Also names the worker queue gen.<slug>.")
    display_name = models.CharField(max_length=120)
    backend = models.CharField(max_length=20, choices=Backend.choices, default=Backend.TRANSFORMERS)
    model = models.CharField(max_length=500, help_text="Local folder or hub id; for OpenAI: the model name.")
    base_url = models.CharField(
        max_length=500, blank=True, validators=[validate_base_url], help_text="OpenAI-compatible base URL, e.g. http://vllm:8000/v1"
    )
    api_key_env = models.CharField(
        max_length=100, blank=True, help_text="Name of the environment variable holding the API key."
    )
    system_prompt = models.TextField(blank=True, max_length=4000)
    generation = models.JSONField(
        default=dict, blank=True, help_text='e.g. {"max_new_tokens": 256, "temperature": 0.7, "top_p": 0.95}'
    )
    sampling_weight = models.FloatField(default=1.0)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["slug"]
        constraints = [
            models.CheckConstraint(condition=Q(sampling_weight__gt=0), name="contender_weight_positive"),
            models.CheckConstraint(
                condition=~Q(backend="OPENAI") | ~Q(base_url=""), name="contender_openai_needs_base_url"
            ),
        ]

    def __str__(self) -> str:
        return self.slug

    @property
    def queue(self) -> str:
        return f"gen.{self.slug}"


class BattleStatus(models.TextChoices):
    GENERATING = "GENERATING"
    READY = "READY"
    VOTED = "VOTED"
    FAILED = "FAILED"
    ABANDONED = "ABANDONED"


class BattleSource(models.TextChoices):
    ARENA = "ARENA"
    IMPORT = "IMPORT", "imported (e.g. a Chatbot Arena dump)"


class Battle(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    owner_session = models.CharField(max_length=64, blank=True, help_text="Session key of an anonymous owner.")
    contender_left = models.ForeignKey(Contender, on_delete=models.PROTECT, related_name="+")
    contender_right = models.ForeignKey(Contender, on_delete=models.PROTECT, related_name="+")
    status = models.CharField(max_length=12, choices=BattleStatus.choices, default=BattleStatus.GENERATING)
    category = models.CharField(max_length=60, blank=True)
    source = models.CharField(max_length=8, choices=BattleSource.choices, default=BattleSource.ARENA)
    prompt_chars = models.PositiveIntegerField(default=0, help_text="Length of the first prompt (length bands).")
    # Style-control covariates per side, summed over turns; written with the vote (or by import).
    len_left = models.PositiveIntegerField(null=True, blank=True)
    len_right = models.PositiveIntegerField(null=True, blank=True)
    headers_left = models.PositiveIntegerField(null=True, blank=True)
    headers_right = models.PositiveIntegerField(null=True, blank=True)
    lists_left = models.PositiveIntegerField(null=True, blank=True)
    lists_right = models.PositiveIntegerField(null=True, blank=True)
    bold_left = models.PositiveIntegerField(null=True, blank=True)
    bold_right = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["owner", "-created_at"]),
            models.Index(fields=["status", "updated_at"]),
            models.Index(fields=["category"]),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~Q(contender_left=models.F("contender_right")), name="battle_two_different_contenders"
            )
        ]

    def __str__(self) -> str:
        return str(self.id)


class Turn(models.Model):
    battle = models.ForeignKey(Battle, on_delete=models.CASCADE, related_name="turns")
    index = models.PositiveSmallIntegerField()
    user_message = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["battle", "index"]
        constraints = [models.UniqueConstraint(fields=["battle", "index"], name="turn_unique_index")]

    def __str__(self) -> str:
        return f"{self.battle_id}#{self.index}"


class Side(models.TextChoices):
    LEFT = "LEFT"
    RIGHT = "RIGHT"


class ResponseStatus(models.TextChoices):
    PENDING = "PENDING"
    DONE = "DONE"
    FAILED = "FAILED"


class Response(models.Model):
    """One side's answer to one turn. Text is written once, when the side finishes."""

    turn = models.ForeignKey(Turn, on_delete=models.CASCADE, related_name="responses")
    side = models.CharField(max_length=5, choices=Side.choices)
    status = models.CharField(max_length=8, choices=ResponseStatus.choices, default=ResponseStatus.PENDING)
    text = models.TextField(blank=True)
    n_tokens = models.PositiveIntegerField(default=0)
    finish_reason = models.CharField(max_length=20, blank=True)
    latency_ms = models.PositiveIntegerField(null=True, blank=True)
    first_token_ms = models.PositiveIntegerField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    error = models.TextField(blank=True, help_text="Operator-facing only; never sent to the client.")
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # The text's style features (arena/style.py), counted once when the side finishes, so that a
    # vote sums them in SQL instead of reading every text back. NULL on rows written otherwise
    # (older rows, bulk loads): a vote then counts from the texts. Plain integers: a positive
    # field's CHECK would make adding the columns scan the whole table under its lock.
    style_len = models.IntegerField(null=True, blank=True)
    style_headers = models.IntegerField(null=True, blank=True)
    style_lists = models.IntegerField(null=True, blank=True)
    style_bold = models.IntegerField(null=True, blank=True)

    class Meta:
        ordering = ["turn", "side"]
        constraints = [models.UniqueConstraint(fields=["turn", "side"], name="response_unique_side")]

    def __str__(self) -> str:
        return f"{self.turn}:{self.side}"


class Winner(models.TextChoices):
    LEFT = "LEFT", "A is better"
    RIGHT = "RIGHT", "B is better"
    TIE = "TIE", "Tie"
    BOTH_BAD = "BOTH_BAD", "Both are bad"


class Strength(models.TextChoices):
    SLIGHT = "SLIGHT"
    CLEAR = "CLEAR"
    STRONG = "STRONG"


class Vote(models.Model):
    """Immutable: the app never edits or deletes a vote (DESIGN invariant 2)."""

    battle = models.OneToOneField(Battle, on_delete=models.PROTECT, related_name="vote")
    winner = models.CharField(max_length=8, choices=Winner.choices)
    strength = models.CharField(max_length=6, choices=Strength.choices, blank=True)
    rationale = models.CharField(max_length=500, blank=True)
    voter = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    fingerprint = models.CharField(max_length=64, blank=True, help_text="Keyed hash of client details.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"vote:{self.battle_id}"


class Leaderboard(models.Model):
    """One ranking configuration; its row is the single-flight lock for fits (skip-locked)."""

    style_control = models.BooleanField(default=False)
    category = models.CharField(max_length=60, blank=True, help_text="A battle category, or a length band like len:long.")
    include_both_bad = models.BooleanField(default=True, help_text="Count both-bad votes as ties.")
    created_at = models.DateTimeField(auto_now_add=True)
    fitted_at = models.DateTimeField(null=True, blank=True)
    seen_vote_id = models.BigIntegerField(default=0, help_text="Votes up to this id were considered by the last fit.")

    class Meta:
        ordering = ["category", "style_control", "-include_both_bad"]
        constraints = [
            models.UniqueConstraint(fields=["style_control", "category", "include_both_bad"], name="leaderboard_unique_config")
        ]

    def __str__(self) -> str:
        flags = ["style" if self.style_control else "plain", self.category or "all", "bothbad" if self.include_both_bad else "nobothbad"]
        return "/".join(flags)


class LeaderboardSnapshot(models.Model):
    """An immutable fit result: parameters, per-contender rows, matrices, bootstrap samples."""

    leaderboard = models.ForeignKey(Leaderboard, on_delete=models.CASCADE, related_name="snapshots")
    n_votes = models.PositiveIntegerField()
    params = models.JSONField(default=dict)
    result = models.JSONField(default=dict)
    fit_seconds = models.FloatField(default=0.0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["leaderboard", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.leaderboard}@{self.created_at:%Y-%m-%dT%H:%M:%S}#{self.pk}"


class ApiToken(models.Model):
    """A bearer token for scripts. Only a hash is stored; the token is shown once, at creation."""

    class Scope(models.TextChoices):
        LEADERBOARD_READ = "LEADERBOARD_READ"
        EXPORT = "EXPORT"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=12, unique=True, help_text="First characters, to tell tokens apart.")
    key_hash = models.CharField(max_length=64, unique=True)
    scopes = models.JSONField(default=list)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"
