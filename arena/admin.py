from django import forms
from django.contrib import admin

from arena.contenders import generation_params_check
from arena.models import Battle, Contender, Response, Turn, Vote


class ContenderForm(forms.ModelForm):
    class Meta:
        model = Contender
        fields = "__all__"

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
