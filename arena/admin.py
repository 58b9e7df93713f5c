from django import forms
from django.contrib import admin
from django.utils import timezone

from arena.contenders import api_key_env_check, generation_params_check
from arena.leaderboards import leaderboard_fit_request
from arena.models import ApiToken, Battle, Contender, Leaderboard, LeaderboardSnapshot, Response, Turn, Vote


class ContenderForm(forms.ModelForm):
    class Meta:
        model = Contender
        fields = "__all__"

    def clean_api_key_env(self):
        api_key_env_check(self.cleaned_data["api_key_env"])
        return self.cleaned_data["api_key_env"]

    def clean_generation(self):
        # Same rules as `add_contender`: a bad setting is a form error, never a failing worker.
        return generation_params_check(self.cleaned_data["generation"])


@admin.register(Contender)
class ContenderAdmin(admin.ModelAdmin):
    form = ContenderForm
    list_display = ("slug", "display_name", "backend", "model", "sampling_weight", "is_active")
    list_filter = ("backend", "is_active")
    search_fields = ("slug", "display_name", "model")


class ReadOnlyAdmin(admin.ModelAdmin):
    """Battles and votes are records: the app never edits or deletes them (DESIGN invariant 2)."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class TurnInline(admin.TabularInline):
    model = Turn
    extra = 0
    fields = ("index", "user_message")
    readonly_fields = fields
    can_delete = False


@admin.register(Battle)
class BattleAdmin(ReadOnlyAdmin):
    list_display = ("id", "status", "contender_left", "contender_right", "owner", "created_at")
    list_filter = ("status",)
    inlines = [TurnInline]


@admin.register(Response)
class ResponseAdmin(ReadOnlyAdmin):
    list_display = ("__str__", "status", "n_tokens", "latency_ms", "first_token_ms", "attempts", "finish_reason")
    list_filter = ("status",)


@admin.register(Vote)
class VoteAdmin(ReadOnlyAdmin):
    list_display = ("battle", "winner", "strength", "voter", "created_at")
    list_filter = ("winner", "strength")


@admin.register(Leaderboard)
class LeaderboardAdmin(admin.ModelAdmin):
    list_display = ("__str__", "style_control", "category", "include_both_bad", "fitted_at")
    actions = ["refit"]

    @admin.action(description="Refit now")
    def refit(self, request, queryset):
        for board in queryset:
            leaderboard_fit_request(leaderboard_id=board.pk)
        self.message_user(request, f"Queued {queryset.count()} fit(s); the leaderboard page updates when they land.")


@admin.register(LeaderboardSnapshot)
class LeaderboardSnapshotAdmin(ReadOnlyAdmin):
    list_display = ("__str__", "n_votes", "fit_seconds", "created_at")
    exclude = ("result",)  # large; the leaderboard page shows it


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Tokens are created with `manage.py create_api_token` (shown once); here they are listed and revoked."""

    list_display = ("name", "prefix", "user", "scopes", "created_at", "last_used_at", "revoked_at")
    readonly_fields = ("user", "name", "prefix", "key_hash", "scopes", "created_at", "last_used_at")
    actions = ["revoke"]

    def has_add_permission(self, request):
        return False

    @admin.action(description="Revoke")
    def revoke(self, request, queryset):
        queryset.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())
