"""Loading: local folders, the hub-id path through a local cache, aliases, offline failures."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import attnviz
from attnviz.errors import ModelNotFoundError, ModelUnavailableError, OfflineFallbackWarning
from attnviz.loading import DEFAULT_MODEL, resolve_model_source

from .conftest import SEED


def test_local_beto_folder_loads_eager_in_eval_mode(beto):
    model, tokenizer = beto
    assert not model.training
    assert model.config._attn_implementation == "eager"
    assert model.config.num_hidden_layers == 12
    assert model.config.num_attention_heads == 12
    # Cased, as on the hub: capitals survive tokenization.
    assert tokenizer.tokenize("El Perro") == ["El", "Perro"]


def test_aliases_resolve():
    assert resolve_model_source("beto") == DEFAULT_MODEL
    assert resolve_model_source("BETO-uncased") == "dccuchile/bert-base-spanish-wwm-uncased"
    offline = resolve_model_source("minilm")
    assert isinstance(offline, Path)
    assert (offline / "config.json").is_file()
    assert resolve_model_source("offline") == offline


def test_offline_alias_is_the_real_minilm(minilm):
    model, _ = minilm
    assert model.config.num_hidden_layers == 6
    assert model.config.num_attention_heads == 12
    assert model.config._attn_implementation == "eager"


def test_beto_by_name_offline_fails_fast_with_clear_message(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ModelUnavailableError) as info:
        attnviz.load_model(DEFAULT_MODEL)
    err = info.value
    assert DEFAULT_MODEL in err.message_es and DEFAULT_MODEL in err.message_en
    assert "HF_HUB_OFFLINE" in err.message_es
    # It says what to do, in both languages.
    assert "minilm" in err.message_es and "local" in err.message_es
    assert "Connect" in err.message_en and "local folder" in err.message_en


def test_explicit_name_is_never_replaced(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ModelUnavailableError):
        attnviz.load_model("beto")


def test_default_falls_back_to_offline_model_with_visible_warning(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.warns(OfflineFallbackWarning, match="sin conexión"):
        model, _ = attnviz.load_model()
    assert model.config.num_hidden_layers == 6


def test_unreachable_endpoint_is_reported_not_retried(monkeypatch):
    # A closed port on loopback: the hub check fails at once instead of 20 s of retries.
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{port}")
    with pytest.raises(ModelUnavailableError) as info:
        attnviz.load_model("dccuchile/bert-base-spanish-wwm-uncased")
    assert f"127.0.0.1:{port}" in info.value.message_es


def test_missing_local_path_is_not_a_hub_id(tmp_path):
    with pytest.raises(ModelNotFoundError, match="No existe la carpeta"):
        attnviz.load_model(str(tmp_path / "no-such-model"))


def test_beto_hub_id_loads_from_a_hub_cache_with_the_hub_layout(beto_dir, tmp_path):
    """The real dccuchile/... code path: hub id -> local cache, laid out as huggingface_hub does."""
    revision = "0" * 40
    repo = tmp_path / "hub" / "models--dccuchile--bert-base-spanish-wwm-cased"
    snapshot = repo / "snapshots" / revision
    snapshot.mkdir(parents=True)
    for file in beto_dir.iterdir():
        (snapshot / file.name).write_bytes(file.read_bytes())
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(revision)
    script = (
        "import attnviz, json\n"
        "m, t = attnviz.load_model()\n"  # the default: BETO, from the cache, no fallback
        f"r = attnviz.extract(m, t, {SEED!r})\n"
        "print(json.dumps([r.model_name, list(r.tokens), list(r.attention.shape)]))\n"
    )
    env = {
        **os.environ,
        "HF_HUB_CACHE": str(tmp_path / "hub"),
        "HF_HUB_OFFLINE": "1",
        "PYTHONWARNINGS": "error::attnviz.errors.OfflineFallbackWarning",
    }
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-2000:]
    name, tokens, shape = json.loads(done.stdout.strip().splitlines()[-1])
    assert name == DEFAULT_MODEL
    assert tokens[:5] == ["[CLS]", "El", "perro", "que", "persigui"]
    assert shape == [12, 12, 14, 14]


def test_offline_mode_does_not_touch_the_network(monkeypatch):
    """The failure comes from the offline flag itself, not from retries against the hub."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    calls = []
    import attnviz.loading as loading

    monkeypatch.setattr(loading, "hub_reachable", lambda *a, **k: calls.append(1) or False)
    with pytest.raises(ModelUnavailableError):
        attnviz.load_model("beto-uncased")
    # With HF_HUB_OFFLINE the network is not even probed.
    assert calls == []
