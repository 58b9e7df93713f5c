"""Export writes: request an export (the snapshot row and its data cut-off), build it.

`export_create` is what the admin, the API and the command call; the build runs in
`worker.tasks.export_build_task` (or inline with `manage.py export`)."""
from django.db import transaction
from django.db.models import Max

from annotate.exports.config import ExportConfig
from annotate.models import Annotation, ExportSnapshot
from arena.models import Vote
from worker.dispatch import enqueue_on_commit


def export_create(*, config: ExportConfig, user=None, queue: bool = True) -> ExportSnapshot:
    """A PENDING snapshot of everything judged so far that matches `config`; its build is
    queued on commit (queue=False: the caller builds it, e.g. `manage.py export`)."""
    from worker.tasks import export_build_task

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
