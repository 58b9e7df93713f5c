"""Arena battles as import rows: one item per battle, the two final responses as candidates
(left = candidate 0, right = candidate 1; placement was random per battle), the vote as an
imported judgment.

A single-turn battle's prompt is its user message. In a multi-turn battle each side saw its own
history, so the item's `messages` are the user turns only, and each candidate's meta holds its
side's earlier answers (`history`). The voter is named "user:<id>" (signed in), else
"client:<fingerprint>" (a keyed hash), else "battle:<id>": names are hashed again into
pseudonyms on import, never stored."""
from collections.abc import Iterator
from datetime import datetime

from django.db.models import Q

from annotate.importing.readers import RawRow
from arena.models import Battle, BattleStatus, ResponseStatus, Side, Strength, Winner

CHOICES = {Winner.LEFT: 0, Winner.RIGHT: 1, Winner.TIE: "tie", Winner.BOTH_BAD: "both_bad"}
STRENGTHS = {Strength.SLIGHT: 1, Strength.CLEAR: 2, Strength.STRONG: 3}
CHUNK = 500  # battles per query (with their turns and responses prefetched)


def battles_for_import(*, since: datetime | None = None, until: datetime | None = None, contenders=(), category: str = "", include_unvoted: bool = False):
    statuses = [BattleStatus.VOTED, BattleStatus.READY] if include_unvoted else [BattleStatus.VOTED]
    battles = Battle.objects.filter(status__in=statuses)
    if since:
        battles = battles.filter(created_at__gte=since)
    if until:
        battles = battles.filter(created_at__lt=until)
    if contenders:
        battles = battles.filter(Q(contender_left__slug__in=contenders) | Q(contender_right__slug__in=contenders))
    if category:
        battles = battles.filter(category=category)
    return battles.order_by("created_at", "id")


def _voter(battle: Battle, vote) -> str:
    if vote.voter_id:
        return f"user:{vote.voter_id}"
    if vote.fingerprint:
        return f"client:{vote.fingerprint}"
    return f"battle:{battle.pk}"


def battle_row(battle: Battle, max_strength: int) -> dict | ValueError:
    turns = sorted(battle.turns.all(), key=lambda t: t.index)
    if not turns:
        return ValueError("the battle has no turns")
    sides = {Side.LEFT: [], Side.RIGHT: []}
    for turn in turns:
        responses = {r.side: r for r in turn.responses.all()}
        for side, texts in sides.items():
            response = responses.get(side)
            if response is None or response.status != ResponseStatus.DONE:
                return ValueError(f"turn {turn.index}: the {side.lower()} response is not finished")
            texts.append(response.text)
    models = {Side.LEFT: battle.contender_left.slug, Side.RIGHT: battle.contender_right.slug}
    candidates = []
    for side, texts in sides.items():
        candidate = {"text": texts[-1], "model": models[side]}
        if len(texts) > 1:
            candidate["meta"] = {"history": texts[:-1]}
        candidates.append(candidate)
    if len(turns) == 1:
        prompt = turns[0].user_message
    else:
        prompt = [{"role": "user", "content": t.user_message} for t in turns]
    row = {"id": str(battle.pk), "prompt": prompt, "candidates": candidates, "meta": {"battle": str(battle.pk)}}
    if battle.category:
        row["meta"]["category"] = battle.category
    vote = getattr(battle, "vote", None)
    if vote is not None:
        judgment = {"annotator": _voter(battle, vote), "choice": CHOICES[vote.winner]}
        strength = STRENGTHS.get(vote.strength)
        if strength and vote.winner in (Winner.LEFT, Winner.RIGHT):
            judgment["strength"] = min(strength, max_strength)
        if vote.rationale:
            judgment["rationale"] = vote.rationale
        row["judgments"] = [judgment]
    return row


def read_battles(battles, max_strength: int) -> Iterator[RawRow]:
    query = battles.select_related("contender_left", "contender_right", "vote").prefetch_related("turns__responses")
    for battle in query.iterator(chunk_size=CHUNK):
        yield RawRow(f"battle {battle.pk}", battle_row(battle, max_strength))
