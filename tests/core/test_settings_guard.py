"""Settings from the environment: a bad value is one plain error naming the variable, never a traceback or a
secret echoed back; the public URL is a real web address."""

import pytest

from core.errors import LoraportError
from core.settings import get_settings


@pytest.mark.parametrize("var, value, says", [
    ("LORAPORT_PORT", "abc", "LORAPORT_PORT: Input should be a valid integer"),
    ("LORAPORT_PORT", "70000", "LORAPORT_PORT"),
    ("LORAPORT_MAX_UPLOAD_MB", "-3", "LORAPORT_MAX_UPLOAD_MB"),
    ("LORAPORT_LLM_PROVIDER", "gpt", "LORAPORT_LLM_PROVIDER"),
    ("LORAPORT_LLM_TIMEOUT_S", "0", "LORAPORT_LLM_TIMEOUT_S"),
    ("LORAPORT_PUBLIC_URL", "loraport.example.com", "LORAPORT_PUBLIC_URL"),
    ("LORAPORT_PUBLIC_URL", "ftp://files.example.com", "not a web address"),
    ("LORAPORT_PUBLIC_URL", "https://x.example.com/?token=abc", "not a web address"),
    ("LORAPORT_RAY_GPUS_PER_JOB", "0", "LORAPORT_RAY_GPUS_PER_JOB"),
])
def test_a_bad_environment_value_is_a_loraport_error_naming_the_variable(monkeypatch, var, value, says):
    monkeypatch.setenv(var, value)
    with pytest.raises(LoraportError) as err:
        get_settings()
    assert says in err.value.message and "Fix the environment variable" in err.value.message


def test_a_bad_secret_is_named_but_not_echoed(monkeypatch):
    monkeypatch.setenv("LORAPORT_TOKEN", "hunter2-very-secret")
    monkeypatch.setenv("LORAPORT_PORT", "not-a-port")
    with pytest.raises(LoraportError) as err:
        get_settings(port=None)
    assert "hunter2" not in err.value.message


@pytest.mark.parametrize("raw, kept", [("https://loraport.example.com/", "https://loraport.example.com"),
                                       ("  http://127.0.0.1:8000  ", "http://127.0.0.1:8000"),
                                       ("https://example.com/loraport/", "https://example.com/loraport"),
                                       ("", None)])
def test_the_public_url_is_normalised(monkeypatch, raw, kept):
    monkeypatch.setenv("LORAPORT_PUBLIC_URL", raw)
    assert get_settings().public_url == kept


def test_the_cli_answers_a_bad_setting_with_one_line(monkeypatch, capsys):
    from cli.main import main

    monkeypatch.setenv("LORAPORT_MAX_UPLOAD_MB", "lots")
    with pytest.raises(SystemExit) as exit_:
        main(["jobs", "list"])
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and err.startswith("error: A setting is wrong: LORAPORT_MAX_UPLOAD_MB")
    assert err.count("\n") == 1
