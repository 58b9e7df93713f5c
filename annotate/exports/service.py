"""Export writes: request an export (the snapshot row and its data cut-off), build it, delete it.

`export_create` is what the admin, the API and the command call; the build runs in
`worker.tasks.export_build_task` (or inline with `manage.py export`)."""
import shutil

from django.db import transaction
from django.db.models import Max

from annotate.exports.config import ExportConfig, ExportConfigInvalid
from annotate.errors import ExportBusy
from annotate.models import Annotation, Campaign, ExportSnapshot, ExportStatus
from arena.models import Vote
from worker.dispatch import enqueue_on_commit


def campaigns_get(config: ExportConfig) -> list[Campaign]:
    """The config's campaigns in slug order; ExportConfigInvalid names any that does not exist
    (at creation, and again at the build: one may be deleted in between)."""
    campaigns = list(Campaign.objects.filter(slug__in=config.campaigns).order_by("slug"))
    missing = sorted(set(config.campaigns) - {c.slug for c in campaigns})
    if missing:
        raise ExportConfigInvalid(f"campaigns: no campaign with slug {', '.join(missing)}")
    return campaigns


def export_create(*, config: ExportConfig, user=None, queue: bool = True) -> ExportSnapshot:
    """A PENDING snapshot of everything judged so far that matches `config`; its build is
    queued on commit (queue=False: the caller builds it, e.g. `manage.py export`). Raises
    ExportConfigInvalid for a campaign that does not exist (one deleted later fails the build)."""
    from worker.tasks import export_build_task

    campaigns_get(config)
    with transaction.atomic():
        snapshot = ExportSnapshot.objects.create(
            name=config.name,
            config=config.to_json(),
            created_by=user if user is not None and user.is_authenticated else None,
            upto_annotation_id=Annotation.objects.aggregate(m=Max("pk"))["m"] or 0,
            upto_vote_id=Vote.objects.aggregate(m=Max("pk"))["m"] or 0,
        )
        if queue:
            enqueue_on_commit(export_build_task, queue="default", snapshot_id=str(snapshot.pk))
    return snapshot


def export_delete(*, snapshot_id) -> None:
    """Delete a snapshot and its files. The row goes first, in a transaction under its lock, and
    the folder once that has committed: a failure in between leaves an unlisted folder, never a
    READY row whose files are gone. Raises ExportBusy while it is being built (the build would
    write the folder again)."""
    from annotate.exports.build import export_dir

    with transaction.atomic():
        snapshot = ExportSnapshot.objects.select_for_update().get(pk=snapshot_id)
        if snapshot.status == ExportStatus.RUNNING:
            raise ExportBusy()
        folder = export_dir(snapshot.pk)
        snapshot.delete()
        transaction.on_commit(lambda: shutil.rmtree(folder, ignore_errors=True))
