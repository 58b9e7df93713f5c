import json
import socket

import pytest

from tests.support.openai_server import serve_openai
from worker.backends import BackendError, BackendSpec, TransientBackendError, get_backend

HELLO = [{"role": "user", "content": "How do I bake bread?"}]


def openai_spec(base_url, model_dir, **overrides):
    params = overrides.pop("params", {"max_new_tokens": 30, "temperature": 1.0, "seed": 0, "timeout_s": 10})
    return BackendSpec(kind="openai", model=model_dir.name, base_url=base_url, params=params, **overrides)


def collect(spec):
    chunks = []
    result = get_backend(spec).generate(HELLO, on_text=chunks.append)
    return chunks, result


def test_streams_chunks_that_concatenate_to_the_text(tiny_model):
    with serve_openai(tiny_model) as base_url:
        chunks, result = collect(openai_spec(base_url, tiny_model))

    assert len(chunks) > 1 and all(chunks)
    assert "".join(chunks) == result.text
    assert 0 < result.n_tokens <= 30  # from the final usage chunk
    assert result.finish_reason in ("stop", "length")


@pytest.mark.parametrize(
    "params", [{"max_new_tokens": 20, "temperature": 0}, {"max_new_tokens": 20, "temperature": 1.0, "seed": 3}]
)
def test_same_text_as_the_local_backend(tiny_model, params):
    local = get_backend(BackendSpec(kind="transformers", model=str(tiny_model), params=params))
    expected = local.generate(HELLO, on_text=lambda t: None)

    with serve_openai(tiny_model) as base_url:
        _, result = collect(openai_spec(base_url, tiny_model, params=params))

    assert result == expected


def test_request_carries_the_settings_and_the_system_prompt(tiny_model):
    requests = []
    params = {"max_new_tokens": 7, "temperature": 0.5, "top_p": 0.9}
    with serve_openai(tiny_model, requests=requests) as base_url:
        collect(openai_spec(base_url, tiny_model, system_prompt="Be brief.", params=params))

    body = requests[0]["body"]
    assert body["messages"] == [{"role": "system", "content": "Be brief."}, *HELLO]
    assert (body["max_tokens"], body["temperature"], body["top_p"]) == (7, 0.5, 0.9)
    assert body["stream"] is True and body["stream_options"] == {"include_usage": True}
    assert "Authorization" not in requests[0]["headers"]


def test_api_key_is_read_from_the_named_env_var(tiny_model, monkeypatch):
    monkeypatch.setenv("TINY_TEST_API_KEY", "sk-test-1234")
    requests = []
    with serve_openai(tiny_model, api_key="sk-test-1234", requests=requests) as base_url:
        _, result = collect(openai_spec(base_url, tiny_model, api_key_env="TINY_TEST_API_KEY"))

    assert requests[0]["headers"]["Authorization"] == "Bearer sk-test-1234"
    assert result.text


def test_wrong_api_key_is_permanent_and_not_repeated_in_the_error(tiny_model, monkeypatch):
    monkeypatch.setenv("TINY_TEST_API_KEY", "sk-wrong-5678")
    with serve_openai(tiny_model, api_key="sk-test-1234") as base_url:
        with pytest.raises(BackendError, match="HTTP 401") as caught:
            collect(openai_spec(base_url, tiny_model, api_key_env="TINY_TEST_API_KEY"))

    assert not isinstance(caught.value, TransientBackendError)
    assert "sk-wrong-5678" not in str(caught.value)


def test_unset_api_key_env_var_is_a_backend_error(tiny_model, monkeypatch):
    monkeypatch.delenv("TINY_TEST_API_KEY", raising=False)
    with serve_openai(tiny_model) as base_url:
        with pytest.raises(BackendError, match="TINY_TEST_API_KEY"):
            collect(openai_spec(base_url, tiny_model, api_key_env="TINY_TEST_API_KEY"))


@pytest.mark.parametrize("status", [429, 500, 503])
def test_overload_and_server_errors_are_transient(tiny_model, status):
    with serve_openai(tiny_model, status=status) as base_url:
        with pytest.raises(TransientBackendError, match=f"HTTP {status}"):
            collect(openai_spec(base_url, tiny_model))


@pytest.mark.parametrize("status", [400, 404, 422])
def test_client_errors_are_permanent(tiny_model, status):
    with serve_openai(tiny_model, status=status) as base_url:
        with pytest.raises(BackendError, match=f"HTTP {status}: told to fail") as caught:
            collect(openai_spec(base_url, tiny_model))

    assert not isinstance(caught.value, TransientBackendError)


def test_unknown_model_is_permanent(tiny_model):
    with serve_openai(tiny_model) as base_url:
        spec = BackendSpec(kind="openai", model="gpt-nonexistent", base_url=base_url)
        with pytest.raises(BackendError, match="HTTP 404") as caught:
            get_backend(spec).generate(HELLO, on_text=lambda t: None)

    assert not isinstance(caught.value, TransientBackendError)


def test_connection_refused_is_transient(tiny_model):
    with socket.socket() as sock:  # a port that was free a moment ago and has no listener now
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]

    with pytest.raises(TransientBackendError, match="cannot reach"):
        collect(openai_spec(f"http://127.0.0.1:{port}/v1", tiny_model))


def test_a_silent_server_times_out_as_transient(tiny_model):
    params = {"max_new_tokens": 5, "timeout_s": 0.3}
    with serve_openai(tiny_model, delay_s=30) as base_url:
        with pytest.raises(TransientBackendError, match="timed out"):
            collect(openai_spec(base_url, tiny_model, params=params))


def test_a_stream_cut_short_is_transient_after_the_chunks_it_delivered(tiny_model):
    chunks = []
    with serve_openai(tiny_model, drop_after_chunks=2) as base_url:
        with pytest.raises(TransientBackendError, match="ended before"):
            get_backend(openai_spec(base_url, tiny_model)).generate(HELLO, on_text=chunks.append)

    assert len(chunks) == 2


def chunk(content=None, finish_reason=None):
    delta = {} if content is None else {"content": content}
    choice = {"index": 0, "delta": delta, "finish_reason": finish_reason}
    return json.dumps({"object": "chat.completion.chunk", "choices": [choice]})


def test_stream_without_usage_counts_chunks_and_reports_length(tiny_model):
    events = [chunk("Hel"), chunk("lo"), chunk(None, "length"), "[DONE]"]
    with serve_openai(tiny_model, events=events) as base_url:
        chunks, result = collect(openai_spec(base_url, tiny_model))

    assert chunks == ["Hel", "lo"]
    assert (result.text, result.n_tokens, result.finish_reason) == ("Hello", 2, "length")


@pytest.mark.parametrize(
    "events",
    [
        [chunk("Hi"), "{not json", "[DONE]"],
        [chunk("Hi"), json.dumps({"error": {"message": "model crashed"}}), "[DONE]"],
        [chunk("Hi"), "[1, 2]", "[DONE]"],
    ],
)
def test_malformed_streams_are_permanent(tiny_model, events):
    with serve_openai(tiny_model, events=events) as base_url:
        with pytest.raises(BackendError) as caught:
            collect(openai_spec(base_url, tiny_model))

    assert not isinstance(caught.value, TransientBackendError)


@pytest.mark.parametrize("base_url", ["", "ftp://example.invalid/v1"])
def test_bad_base_url_is_a_backend_error(base_url):
    spec = BackendSpec(kind="openai", model="m", base_url=base_url)
    with pytest.raises(BackendError, match="base_url") as caught:
        get_backend(spec).generate(HELLO, on_text=lambda t: None)

    assert not isinstance(caught.value, TransientBackendError)
