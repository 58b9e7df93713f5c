"""Annotation campaigns: items with candidate responses, leased to annotators as assignments,
answered by immutable annotations (DESIGN.md "Data model", invariant 4).

Counters on Item (`n_leased`, `n_submitted`) are changed only under the item's row lock
(`annotate/leasing.py`), so "at most k at once" holds without counting rows per request.
"""
import secrets
import uuid

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from annotate.questions import default_questions


def _invite_token() -> str:
    return secrets.token_urlsafe(18)


class CampaignStatus(models.TextChoices):
    DRAFT = "DRAFT", "draft (only staff can preview)"
    ACTIVE = "ACTIVE"
    PAUSED = "PAUSED", "paused (no new items handed out)"
    CLOSED = "CLOSED"


class ItemOrder(models.TextChoices):
    CLOSEST_FIRST = "CLOSEST_FIRST", "items closest to completion first"
    RANDOM = "RANDOM", "random order (fixed at import)"
    SEQUENTIAL = "SEQUENTIAL", "file order"


class Campaign(models.Model):
    slug = models.SlugField(max_length=60, unique=True)
    title = models.CharField(max_length=200)
    instructions = models.TextField(blank=True, max_length=20000, help_text="Markdown, shown before the first item.")
    questions = models.JSONField(default=default_questions, help_text="See annotate/questions.py and the README.")
    status = models.CharField(max_length=10, choices=CampaignStatus.choices, default=CampaignStatus.ACTIVE)
    overlap = models.PositiveSmallIntegerField(default=3, help_text="Judgments wanted per item (k).")
    lease_s = models.PositiveIntegerField(default=1800, help_text="Seconds an annotator holds an item.")
    gold_rate = models.FloatField(default=0.0, help_text="Share of an annotator's items drawn from gold items.")
    quota = models.PositiveIntegerField(default=0, help_text="Items per annotator; 0 = no limit.")
    item_order = models.CharField(max_length=16, choices=ItemOrder.choices, default=ItemOrder.CLOSEST_FIRST)
    allow_signed_in = models.BooleanField(default=True, help_text="Any signed-in user may join without a link.")
    invite_token = models.CharField(max_length=40, unique=True, default=_invite_token, editable=False)
    completion_code = models.CharField(max_length=60, blank=True, help_text="Shown at the end (Prolific).")
    completion_url = models.URLField(blank=True, max_length=500, help_text="Where to send annotators at the end.")
    gold_min_accuracy = models.FloatField(default=0.0, help_text="Pause annotators below this gold accuracy; 0 = off.")
    gold_min_answered = models.PositiveSmallIntegerField(default=5, help_text="Gold items answered before pausing applies.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=Q(overlap__gte=1), name="campaign_overlap_positive"),
            models.CheckConstraint(condition=Q(gold_rate__gte=0) & Q(gold_rate__lte=1), name="campaign_gold_rate_range"),
            models.CheckConstraint(condition=Q(lease_s__gte=30), name="campaign_lease_min"),
        ]

    def __str__(self) -> str:
        return self.slug


class Item(models.Model):
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="items")
    position = models.PositiveIntegerField(help_text="Row number in the imported file (1-based).")
    external_id = models.CharField(max_length=200, blank=True)
    prompt = models.TextField(help_text="Plain text, or the last user message of `messages`.")
    messages = models.JSONField(null=True, blank=True, help_text="Chat messages [{role, content}] when given.")
    meta = models.JSONField(default=dict, blank=True)
    is_gold = models.BooleanField(default=False)
    gold = models.CharField(max_length=12, blank=True, help_text='Gold answer: a candidate index ("0", "1", …) or "TIE".')
    shuffle_key = models.BigIntegerField(default=0, help_text="Random at import; the RANDOM item order.")
    n_candidates = models.PositiveSmallIntegerField()
    n_leased = models.PositiveIntegerField(default=0)
    n_submitted = models.PositiveIntegerField(default=0)
    # Kept equal to annotate.leasing.slot_open(...) under the item's row lock; the partial
    # indexes below then hold only items that can still be handed out.
    is_open = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["campaign", "position"]
        constraints = [
            models.UniqueConstraint(fields=["campaign", "position"], name="item_unique_position"),
            models.CheckConstraint(condition=Q(is_gold=False) | ~Q(gold=""), name="item_gold_has_answer"),
            models.CheckConstraint(condition=Q(n_candidates__gte=2), name="item_two_candidates"),
        ]
        indexes = [
            # The "next item" scans: open items in the campaign's order (annotate/leasing.py).
            models.Index(
                F("campaign"), F("is_gold"), F("n_submitted").desc(), F("shuffle_key"),
                name="item_closest", condition=Q(is_open=True),
            ),
            models.Index(fields=["campaign", "is_gold", "shuffle_key"], name="item_random", condition=Q(is_open=True)),
            models.Index(fields=["campaign", "is_gold", "position"], name="item_sequential", condition=Q(is_open=True)),
        ]

    def __str__(self) -> str:
        return f"{self.campaign_id}#{self.position}"


class Candidate(models.Model):
    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="candidates")
    index = models.PositiveSmallIntegerField(help_text="Position in the imported row (0-based); never what is shown.")
    text = models.TextField()
    model = models.CharField(max_length=200, blank=True, help_text="The model that wrote it, when known.")
    meta = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["item", "index"]
        constraints = [models.UniqueConstraint(fields=["item", "index"], name="candidate_unique_index")]

    def __str__(self) -> str:
        return f"{self.item_id}/{self.index}"


class AnnotatorKind(models.TextChoices):
    USER = "USER", "signed-in user"
    CROWD = "CROWD", "crowd platform participant"
    EXTERNAL = "EXTERNAL", "imported (judgments from a file)"


class AnnotatorStatus(models.TextChoices):
    ACTIVE = "ACTIVE"
    PAUSED = "PAUSED", "paused (gold accuracy below the threshold)"
    DONE = "DONE", "quota reached"


class Annotator(models.Model):
    """One person in one campaign. Known only by a pseudonym outside the admin; crowd ids are
    kept as an HMAC (`annotate/pseudonyms.py`), never in clear."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="annotators")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    kind = models.CharField(max_length=10, choices=AnnotatorKind.choices, default=AnnotatorKind.USER)
    pseudonym = models.CharField(max_length=64)
    status = models.CharField(max_length=8, choices=AnnotatorStatus.choices, default=AnnotatorStatus.ACTIVE)
    platform_study = models.CharField(max_length=64, blank=True, help_text="HMAC of the crowd platform's study id.")
    platform_session = models.CharField(max_length=64, blank=True, help_text="HMAC of the crowd platform's session id.")
    n_submitted = models.PositiveIntegerField(default=0)
    n_gold = models.PositiveIntegerField(default=0)
    n_gold_correct = models.PositiveIntegerField(default=0)
    paused_reason = models.CharField(max_length=200, blank=True)
    joined_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["campaign", "pseudonym"]
        constraints = [
            models.UniqueConstraint(fields=["campaign", "pseudonym"], name="annotator_unique_pseudonym"),
            models.UniqueConstraint(
                fields=["campaign", "user"], condition=Q(user__isnull=False), name="annotator_unique_user"
            ),
            models.CheckConstraint(condition=Q(n_gold_correct__lte=F("n_gold")), name="annotator_gold_counts"),
        ]

    def __str__(self) -> str:
        return f"{self.campaign_id}:{self.pseudonym}"


class AssignmentState(models.TextChoices):
    LEASED = "LEASED"
    SUBMITTED = "SUBMITTED"
    SKIPPED = "SKIPPED"
    EXPIRED = "EXPIRED"


class Assignment(models.Model):
    """One annotator's turn at one item. `order` is the permutation of candidate indices as shown:
    order[0] was shown first (left/top)."""

    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="assignments")
    annotator = models.ForeignKey(Annotator, on_delete=models.CASCADE, related_name="assignments")
    order = models.JSONField()
    state = models.CharField(max_length=10, choices=AssignmentState.choices, default=AssignmentState.LEASED)
    leased_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)
    draft = models.JSONField(default=dict, blank=True, help_text="Answers typed so far; saved as the annotator types.")
    skip_reason = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-leased_at"]
        constraints = [
            # Never twice to one annotator (invariant 4), whatever happened to the first lease.
            models.UniqueConstraint(fields=["item", "annotator"], name="assignment_once_per_annotator"),
        ]
        indexes = [
            models.Index(fields=["annotator", "state"]),
            models.Index(fields=["state", "expires_at"], condition=Q(state="LEASED"), name="assignment_live_leases"),
        ]

    def __str__(self) -> str:
        return f"{self.item_id}@{self.annotator_id}"


class Verdict(models.TextChoices):
    CANDIDATE = "CANDIDATE", "one candidate is better"
    TIE = "TIE"
    BOTH_BAD = "BOTH_BAD", "all are bad"
    RANKED = "RANKED", "ranking of all candidates"
    NONE = "NONE", "no overall choice asked"


class AnnotationSource(models.TextChoices):
    APP = "APP", "submitted in prefarena"
    IMPORTED = "IMPORTED", "imported with the items"


class Annotation(models.Model):
    """A submitted judgment. Never updated or deleted by the app (DESIGN invariant 2); a
    correction is a new campaign round."""

    assignment = models.OneToOneField(Assignment, on_delete=models.CASCADE, related_name="annotation")
    verdict = models.CharField(max_length=10, choices=Verdict.choices)
    choice = models.PositiveSmallIntegerField(null=True, blank=True, help_text="Candidate index when CANDIDATE.")
    ranking = models.JSONField(null=True, blank=True, help_text="Candidate indices, best first, when RANKED.")
    strength = models.PositiveSmallIntegerField(null=True, blank=True)
    aspects = models.JSONField(default=dict, blank=True, help_text="{aspect: score} or {aspect: candidate index}.")
    flags = models.JSONField(default=list, blank=True)
    rationale = models.TextField(blank=True)
    time_spent_ms = models.PositiveIntegerField(default=0)
    source = models.CharField(max_length=10, choices=AnnotationSource.choices, default=AnnotationSource.APP)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(verdict="CANDIDATE") | Q(choice__isnull=False), name="annotation_candidate_has_choice"
            ),
            models.CheckConstraint(
                condition=~Q(verdict="RANKED") | Q(ranking__isnull=False), name="annotation_ranked_has_ranking"
            ),
        ]

    def __str__(self) -> str:
        return f"annotation {self.pk} on {self.assignment_id}"


class ExportStatus(models.TextChoices):
    PENDING = "PENDING"
    RUNNING = "RUNNING"
    READY = "READY"
    FAILED = "FAILED"


class ExportSnapshot(models.Model):
    """One dataset export: its settings (annotate.exports.config.ExportConfig as JSON), the data
    cut-off that makes a rebuild byte-identical, and, once READY, its files with checksums.

    The id is a random UUID and is the only handle on the files (links are not guessable);
    files are written to a temporary folder and moved into place before the row says READY, so
    a worker killed mid-export leaves nothing that looks finished."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=100)
    config = models.JSONField()
    status = models.CharField(max_length=8, choices=ExportStatus.choices, default=ExportStatus.PENDING)
    # The newest annotation and vote ids included: the same snapshot rebuilt reads the same rows.
    upto_annotation_id = models.BigIntegerField(default=0)
    upto_vote_id = models.BigIntegerField(default=0)
    rows_done = models.PositiveBigIntegerField(default=0, help_text="Progress while RUNNING.")
    rows_total = models.PositiveBigIntegerField(default=0, help_text="Judgments to read (an estimate of the work).")
    files = models.JSONField(default=list, blank=True, help_text="[{name, bytes, sha256, rows}] once READY.")
    manifest = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.pk})"
