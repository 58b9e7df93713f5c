import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from annotate.samples import SAMPLE_SLUG, sample_campaign_import
from arena.contenders import contender_register

DEMO_ADMIN = "admin"


class Command(BaseCommand):
    help = "Embedded demo: build the tiny local models, register them as contenders, import the sample campaign, create an admin."

    def add_arguments(self, parser):
        parser.add_argument("--url", default="http://127.0.0.1:8000/", help="Where the app will listen (printed).")

    def handle(self, *args, **opts):
        from worker.tinymodels import build_demo_models  # imports torch: only here, never in the web path

        self.stdout.write("Building the tiny local models (first run only, a few seconds)…")
        for info in build_demo_models(settings.MODEL_DIR):
            contender_register(
                slug=info.slug,
                display_name=info.slug.replace("-", " ").title(),
                backend="TRANSFORMERS",
                model=info.slug,  # relative: resolved under MODEL_DIR
                generation={"max_new_tokens": 80, "temperature": 0.8, "top_p": 0.95},
            )
        sample = sample_campaign_import()  # skipped when it exists already
        if sample is not None:
            self.stdout.write(
                f"Imported the sample campaign {SAMPLE_SLUG}: {sample.n_items} items, {sample.n_judgments} expert judgments."
            )
        password_file = settings.VAR_DIR / "admin_password"
        if not password_file.exists():
            password_file.write_text(secrets.token_urlsafe(12))
            password_file.chmod(0o600)
        password = password_file.read_text().strip()
        user, _ = get_user_model().objects.get_or_create(username=DEMO_ADMIN, defaults={"is_staff": True, "is_superuser": True})
        user.is_staff = user.is_superuser = True
        user.set_password(password)
        user.save()
        url = opts["url"]
        self.stdout.write(
            self.style.SUCCESS(
                f"\n  prefarena is starting at {url}\n"
                f"  Sign in as  {DEMO_ADMIN} / {password}   (also stored in {password_file})\n"
                f"  Arena: {url}arena/    Leaderboard: {url}arena/leaderboard/    Admin: {url}admin/\n"
                f"  Annotate: {url}annotate/    Sample campaign dashboard: {url}annotate/{SAMPLE_SLUG}/dashboard/\n"
                f"  Stop with Ctrl+C.\n"
            )
        )
