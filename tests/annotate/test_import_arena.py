"""A campaign from arena battles: one item per voted battle, the vote as an imported judgment."""
import io
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from annotate.importing import CampaignImportRejected, CampaignSpec, campaign_import_from_arena
from annotate.models import Annotation, Annotator, Item
from annotate.pseudonyms import pseudonym
from arena.models import Battle, BattleStatus, Contender, Response, ResponseStatus, Side, Turn, Vote

pytestmark = pytest.mark.django_db


def contender(slug):
    return Contender.objects.create(slug=slug, display_name=slug.title(), model=slug, is_active=False)


def battle(left, right, turns, *, status=BattleStatus.VOTED, winner=None, strength="", rationale="", voter=None, category=""):
    b = Battle.objects.create(contender_left=left, contender_right=right, status=status, category=category)
    for index, (message, left_text, right_text) in enumerate(turns):
        turn = Turn.objects.create(battle=b, index=index, user_message=message)
        Response.objects.create(turn=turn, side=Side.LEFT, status=ResponseStatus.DONE, text=left_text)
        Response.objects.create(turn=turn, side=Side.RIGHT, status=ResponseStatus.DONE, text=right_text)
    if winner:
        Vote.objects.create(battle=b, winner=winner, strength=strength, rationale=rationale, voter=voter)
    return b


def test_voted_battles_become_items_with_the_vote_as_a_judgment(user):
    # given three voted battles (one multi-turn), one ready and one generating
    red, blue, green = contender("red"), contender("blue"), contender("green")
    single = battle(red, blue, [("Hi?", "Hello!", "Hey.")], winner="LEFT", strength="STRONG", rationale="warmer", voter=user, category="chat")
    multi = battle(blue, green, [("Name a fruit", "Apple", "Pear"), ("Another?", "Plum", "Fig")], winner="TIE")
    battle(green, red, [("Q", "a", "b")], winner="BOTH_BAD")
    battle(red, green, [("Q2", "a", "b")], status=BattleStatus.READY)
    battle(red, green, [("Q3", "", "")], status=BattleStatus.GENERATING)
    # when imported
    report = campaign_import_from_arena(spec=CampaignSpec(slug="arena", overlap=2))
    # then only voted battles are items, oldest first, left = candidate 0
    assert (report.n_items, report.n_judgments) == (3, 3)
    first, second, third = Item.objects.filter(campaign__slug="arena").order_by("position")
    assert (first.external_id, first.prompt, first.messages, first.meta) == (str(single.pk), "Hi?", None, {"battle": str(single.pk), "category": "chat"})
    assert [(c.text, c.model) for c in first.candidates.order_by("index")] == [("Hello!", "red"), ("Hey.", "blue")]
    assert second.external_id == str(multi.pk) and second.prompt == "Another?"
    assert second.messages == [{"role": "user", "content": "Name a fruit"}, {"role": "user", "content": "Another?"}]
    assert [c.meta for c in second.candidates.order_by("index")] == [{"history": ["Apple"]}, {"history": ["Pear"]}]
    vote = Annotation.objects.get(assignment__item=first)
    assert (vote.verdict, vote.choice, vote.strength, vote.rationale, vote.source) == ("CANDIDATE", 0, 3, "warmer", "IMPORTED")
    assert vote.assignment.annotator.pseudonym == pseudonym("external:arena", f"user:{user.pk}")
    assert Annotation.objects.get(assignment__item=second).verdict == "TIE"
    assert Annotation.objects.get(assignment__item=third).verdict == "BOTH_BAD"
    assert all(i.n_submitted == 1 and i.is_open for i in (first, second, third))
    assert Annotator.objects.filter(campaign__slug="arena").count() == 3  # the user, and one per anonymous vote


def test_filters_and_unvoted_battles_through_the_command():
    red, blue, green = contender("red"), contender("blue"), contender("green")
    old = battle(red, blue, [("old", "a", "b")], winner="LEFT", category="code")
    Battle.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=10))
    battle(red, blue, [("new", "a", "b")], winner="RIGHT", category="code")
    battle(blue, green, [("other", "a", "b")], winner="RIGHT", category="code")
    battle(red, green, [("ready", "a", "b")], status=BattleStatus.READY, category="code")
    since = (timezone.now() - timedelta(days=1)).date().isoformat()
    out = io.StringIO()
    call_command("import_campaign", "--from-arena", "--slug", "f", "--since", since, "--contender", "red", "--category", "code", "--include-unvoted", stdout=out)
    assert sorted(Item.objects.filter(campaign__slug="f").values_list("prompt", flat=True)) == ["new", "ready"]
    assert Annotation.objects.filter(assignment__item__campaign__slug="f").count() == 1
    with pytest.raises(CampaignImportRejected) as info:
        campaign_import_from_arena(spec=CampaignSpec(slug="g"), contenders=("nobody",))
    assert info.value.errors == ["unknown contender nobody"]
    with pytest.raises(CampaignImportRejected) as info:
        campaign_import_from_arena(spec=CampaignSpec(slug="g"), category="none")
    assert info.value.errors == ["the file has no items"]
