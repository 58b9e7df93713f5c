import threading

import pytest
import torch

from worker.backends import BackendError, BackendSpec, get_backend

HELLO = [{"role": "user", "content": "How do I bake bread?"}]


def backend_for(folder, *, system_prompt="", **params):
    return get_backend(BackendSpec(kind="transformers", model=str(folder), system_prompt=system_prompt, params=params))


def test_streamed_chunks_concatenate_to_the_text(tiny_model):
    chunks = []

    result = backend_for(tiny_model, max_new_tokens=40, temperature=1.0, seed=0).generate(HELLO, on_text=chunks.append)

    assert len(chunks) > 1 and all(chunks)
    assert "".join(chunks) == result.text
    assert 0 < result.n_tokens <= 40


@pytest.mark.slow
def test_finish_reason_is_length_exactly_when_the_token_budget_runs_out(tiny_model):
    # A 1-second model emits EOS only now and then (about 1 seed in 4 within 300 tokens), so try
    # seeds until both endings have been seen.
    results = []
    for seed in range(40):
        backend = backend_for(tiny_model, max_new_tokens=200, temperature=1.0, seed=seed)
        results.append(backend.generate(HELLO, on_text=lambda t: None))
        if {r.finish_reason for r in results} == {"stop", "length"}:
            break

    assert {r.finish_reason for r in results} == {"stop", "length"}
    assert all((r.finish_reason == "length") == (r.n_tokens == 200) for r in results)


def test_greedy_generation_hits_the_budget(tiny_model):
    result = backend_for(tiny_model, max_new_tokens=5, temperature=0).generate(HELLO, on_text=lambda t: None)

    assert (result.finish_reason, result.n_tokens) == ("length", 5)


def test_system_prompt_is_prepended(tiny_model, monkeypatch):
    backend = backend_for(tiny_model, system_prompt="You are terse.", max_new_tokens=3)
    tokenizer = backend._loaded.tokenizer
    seen = []
    original = tokenizer.apply_chat_template

    def spy(conversation, *args, **kwargs):
        seen.append(conversation)
        return original(conversation, *args, **kwargs)

    monkeypatch.setattr(tokenizer, "apply_chat_template", spy)
    backend.generate(HELLO, on_text=lambda t: None)

    assert seen == [[{"role": "system", "content": "You are terse."}, *HELLO]]


def test_same_seed_same_text_and_process_rng_untouched(tiny_model):
    backend = backend_for(tiny_model, max_new_tokens=30, temperature=1.0, seed=7)
    torch.manual_seed(123)
    expected_next = torch.rand(3)
    torch.manual_seed(123)

    first = backend.generate(HELLO, on_text=lambda t: None)
    second = backend.generate(HELLO, on_text=lambda t: None)

    assert first == second
    assert torch.equal(torch.rand(3), expected_next)


def test_two_models_answer_differently(tiny_models):
    texts = {
        slug: backend_for(path, max_new_tokens=30, temperature=1.0, seed=0).generate(HELLO, on_text=lambda t: None).text
        for slug, path in tiny_models.items()
    }

    assert len(set(texts.values())) == 3


def test_batch_matches_one_at_a_time_with_greedy_decoding(tiny_model):
    backend = backend_for(tiny_model, max_new_tokens=12, temperature=0)
    chats = [HELLO, [{"role": "user", "content": "A much longer question, so that the batch needs padding?"}]]

    batch = backend.generate_batch(chats)

    # Same text, token count and finish reason: padding after an early stop is not counted.
    assert batch == [backend.generate(chat, on_text=lambda t: None) for chat in chats]


def test_concurrent_callers_each_get_their_own_stream(tiny_model):
    backend = backend_for(tiny_model, max_new_tokens=40, temperature=1.0)
    outcomes = {}

    def run(name):
        chunks = []
        result = backend.generate(HELLO, on_text=chunks.append)
        outcomes[name] = ("".join(chunks), result.text)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert len(outcomes) == 3
    assert all(streamed == text for streamed, text in outcomes.values())


def test_error_in_on_text_stops_generation_and_releases_the_model(tiny_model):
    backend = backend_for(tiny_model, max_new_tokens=40, temperature=1.0)

    def cancel(text):
        raise RuntimeError("voter left")

    with pytest.raises(RuntimeError, match="voter left"):
        backend.generate(HELLO, on_text=cancel)
    assert backend.generate(HELLO, on_text=lambda t: None).n_tokens > 0


def test_missing_folder_is_a_backend_error(tmp_path):
    with pytest.raises(BackendError, match="does not exist"):
        backend_for(tmp_path / "nope")


def test_folder_without_a_model_is_a_backend_error(tmp_path):
    with pytest.raises(BackendError, match="cannot load model"):
        backend_for(tmp_path)
