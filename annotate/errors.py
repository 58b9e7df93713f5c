"""Errors shown to annotators and admins. They share the arena's base class so the same JSON
error helper (`arena.http.json_api`) maps them to {"error", "message"} with a status."""
from arena.errors import ArenaError, BadRequest, RateLimited  # noqa: F401  (re-exported)


class AnnotateError(ArenaError):
    code = "annotate_error"


class CampaignNotFound(AnnotateError):
    code, status, message = "campaign_not_found", 404, "This campaign does not exist or is not open to you."


class CampaignClosed(AnnotateError):
    code, status, message = "campaign_closed", 409, "This campaign is not taking answers right now."


class AnnotatorPaused(AnnotateError):
    code, status = "annotator_paused", 403
    message = "Your work on this campaign is paused for review. Thank you for your help so far."


class QuotaReached(AnnotateError):
    code, status, message = "quota_reached", 409, "You have reached your quota for this campaign. Thank you!"


class NoItemsLeft(AnnotateError):
    code, status, message = "no_items_left", 409, "There are no more items for you right now. Thank you!"


class AssignmentNotFound(AnnotateError):
    code, status, message = "assignment_not_found", 404, "This item is not assigned to you."


class LeaseExpired(AnnotateError):
    code, status = "lease_expired", 409
    message = "Your time on this item ran out and it went back to the pool. Your answer was not saved; take the next item."


class ItemSkipped(AnnotateError):
    code, status = "item_skipped", 409
    message = "You skipped this item (perhaps in another tab), so this answer was not saved; take the next item."


class AlreadySubmitted(AnnotateError):
    code, status, message = "already_submitted", 409, "You already answered this item."


class AnswerRejected(AnnotateError):
    code, status, message = "answer_invalid", 400, "The answer is incomplete."


class SkipReasonMissing(AnnotateError):
    code, status, message = "skip_reason_missing", 400, "Say briefly why you skip this item."


class DraftTooLarge(AnnotateError):
    code, status, message = "draft_too_large", 400, "The draft is too large to save."


class ExportNotFound(AnnotateError):
    code, status, message = "export_not_found", 404, "This export does not exist."


class ExportNotReady(AnnotateError):
    code, status, message = "export_not_ready", 409, "This export is not ready; poll its status_url."


class NoSuchExportFile(AnnotateError):
    code, status, message = "file_not_found", 404, "This export has no such file."


class ExportBusy(AnnotateError):
    code, status, message = "export_busy", 409, "This export is being built; delete it when it has finished."
