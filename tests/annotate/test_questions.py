"""The question config and the check of an answer against it (pure: no database)."""
import pytest

from annotate.questions import AnswerInvalid, Questions, QuestionsInvalid, answer_check, questions_from_json

ASPECTS = {"aspects": [{"name": "helpfulness", "kind": "scale", "low": 1, "high": 5}, {"name": "honesty", "kind": "pairwise"}]}


@pytest.mark.parametrize(
    "config, message",
    [
        ({"colour": 1}, "unknown question field"),
        ({"aspects": [{"name": "x", "colour": "red"}]}, "unknown field(s) colour"),
        ({"aspects": "helpfulness"}, "aspects must be a list"),
        ({"aspects": [{"name": "bad name"}]}, "letters, digits or _"),
        ({"aspects": [{"name": "a", "low": 5, "high": 1}]}, "low < high"),
        ({"aspects": [{"name": "a"}, {"name": "a"}]}, "unique"),
        ({"rationale": "sometimes"}, "rationale must be one of"),
        ({"strength": "yes"}, "true or false"),
        ({"choice": False, "ranking": False, "rationale": "off"}, "at least one question"),
    ],
)
def test_bad_configs_are_refused_with_the_field_named(config, message):
    with pytest.raises(QuestionsInvalid, match=message.replace("(", r"\(").replace(")", r"\)")):
        questions_from_json(config)


def test_the_default_config_round_trips():
    assert questions_from_json(Questions().to_json()) == Questions()


def test_answers_are_stored_in_candidate_indices_through_the_shown_order():
    q = questions_from_json(ASPECTS)
    order = [1, 0]  # candidate 1 was shown first
    clean = answer_check(
        q,
        {"verdict": "CANDIDATE", "choice": 0, "strength": 3, "aspects": {"helpfulness": [5, 2], "honesty": 1}},
        order,
    )
    assert (clean.choice, clean.strength) == (1, 3)
    assert clean.aspects == {"helpfulness": {"0": 2, "1": 5}, "honesty": 0}


def test_rankings_for_more_than_two_candidates():
    q = Questions()
    clean = answer_check(q, {"ranking": [2, 0, 1]}, [2, 1, 0])
    assert (clean.verdict, clean.ranking) == ("RANKED", [0, 2, 1])
    with pytest.raises(AnswerInvalid, match="Rank every response once"):
        answer_check(q, {"ranking": [0, 0, 1]}, [0, 1, 2])


@pytest.mark.parametrize(
    "answer, message",
    [
        ({}, "Choose a response"),
        ({"verdict": "CANDIDATE", "choice": 2}, "pick one of the responses"),
        ({"verdict": "CANDIDATE", "choice": True}, "pick one of the responses"),
        ({"verdict": "CANDIDATE", "choice": 0, "strength": 9}, "Strength must be"),
        ({"verdict": "TIE", "flags": ["nope"]}, "Unknown flag"),
        ({"verdict": "TIE", "rationale": "x" * 5001}, "too long"),
        ({"verdict": "TIE", "aspects": {"helpfulness": [6, 1]}}, "score from 1 to 5"),
        ({"verdict": "TIE", "aspects": {"helpfulness": [1]}}, "Rate every response"),
    ],
)
def test_incomplete_or_wrong_answers_get_a_message(answer, message):
    q = questions_from_json({"aspects": ASPECTS["aspects"][:1]}) if "aspects" in answer else Questions()
    with pytest.raises(AnswerInvalid, match=message):
        answer_check(q, answer, [0, 1])


def test_required_rationale_and_minimum_length():
    q = questions_from_json({"rationale": "required", "rationale_min_chars": 10})
    with pytest.raises(AnswerInvalid, match="at least 10"):
        answer_check(q, {"verdict": "TIE", "rationale": "  too short  "}, [0, 1])
    assert answer_check(q, {"verdict": "TIE", "rationale": "long enough now"}, [0, 1]).rationale == "long enough now"
    off = questions_from_json({"rationale": "off"})
    assert answer_check(off, {"verdict": "TIE", "rationale": "ignored"}, [0, 1]).rationale == ""
    assert answer_check(Questions(allow_tie=False), {"verdict": "BOTH_BAD"}, [0, 1]).verdict == "BOTH_BAD"
    with pytest.raises(AnswerInvalid, match="Choose a response or all bad"):
        answer_check(Questions(allow_tie=False), {"verdict": "TIE"}, [0, 1])
