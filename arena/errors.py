"""Errors the arena shows to users. Messages are constants so tests can name them, and none of
them ever names a contender (DESIGN invariant 1)."""


class ArenaError(Exception):
    code = "arena_error"
    status = 400
    message = "Something went wrong."

    def __init__(self, message: str | None = None):
        super().__init__(message or self.message)
        if message:
            self.message = message


class PromptEmpty(ArenaError):
    code, message = "prompt_empty", "Type a prompt first."


class PromptTooLong(ArenaError):
    code, message = "prompt_too_long", "That prompt is too long."


class RateLimited(ArenaError):
    code, status, message = "rate_limited", 429, "You are going too fast. Please wait a little and try again."


class NoContenders(ArenaError):
    code, status, message = "no_contenders", 503, "The arena has fewer than two models available right now."


class BattleNotFound(ArenaError):
    code, status, message = "battle_not_found", 404, "This battle does not exist or is not yours."


class NotReady(ArenaError):
    code, status, message = "not_ready", 409, "Wait until both answers have finished before voting."


class BattleFailed(ArenaError):
    code, status = "battle_failed", 409
    message = "A model failed to answer, so this battle can't be voted on. Start a new battle."


class AlreadyVoted(ArenaError):
    code, status, message = "already_voted", 409, "This battle already has a vote."


class InvalidVote(ArenaError):
    code, message = "invalid_vote", "Choose A, B, Tie or Both are bad."


class RationaleTooLong(ArenaError):
    code, message = "rationale_too_long", "The reason is too long."


class TooManyTurns(ArenaError):
    code, status, message = "too_many_turns", 409, "This conversation has reached its length limit. Vote or start a new battle."


class BadRequest(ArenaError):
    code, message = "bad_request", "The request could not be read."


# Shown when a side fails: deliberately generic, whatever the backend said.
SIDE_FAILED_MESSAGE = "This model failed to answer."
