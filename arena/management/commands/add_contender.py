import json

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from arena.contenders import contender_register


class Command(BaseCommand):
    help = "Register (or update) a contender: a local/hub transformers model or an OpenAI-compatible endpoint."

    def add_arguments(self, parser):
        parser.add_argument("slug", help="Short id; the worker queue is gen.<slug>.")
        parser.add_argument("--name", help="Display name shown after the vote (default: the slug).")
        parser.add_argument("--backend", choices=["transformers", "openai"], default="transformers")
        parser.add_argument("--model", required=True, help="Folder (absolute or under MODEL_DIR) or hub id; for openai the model name.")
        parser.add_argument("--base-url", default="", help="OpenAI-compatible base URL, e.g. http://127.0.0.1:8000/v1")
        parser.add_argument("--api-key-env", default="", help="NAME of the environment variable holding the API key.")
        parser.add_argument("--system-prompt", default="")
        parser.add_argument("--generation", default="{}", help='JSON, e.g. \'{"max_new_tokens": 256, "temperature": 0.7}\'')
        parser.add_argument("--weight", type=float, default=1.0, help="Sampling weight (> 0).")
        parser.add_argument("--inactive", action="store_true", help="Register without entering battles yet.")

    def handle(self, *args, **opts):
        try:
            generation = json.loads(opts["generation"])
        except ValueError as exc:
            raise CommandError(f"--generation is not valid JSON: {exc}") from None
        if not isinstance(generation, dict):
            raise CommandError("--generation must be a JSON object")
        try:
            contender = contender_register(
                slug=opts["slug"],
                display_name=opts["name"] or opts["slug"],
                backend=opts["backend"].upper(),
                model=opts["model"],
                base_url=opts["base_url"],
                api_key_env=opts["api_key_env"],
                system_prompt=opts["system_prompt"],
                generation=generation,
                sampling_weight=opts["weight"],
                is_active=not opts["inactive"],
            )
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from None
        self.stdout.write(f"contender {contender.slug} ready; its worker queue is {contender.queue}")
