"""Shared fixtures: a BETO-shaped tiny model and the real offline MiniLM, never a download."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import matplotlib
import pytest

matplotlib.use("Agg")

FIXTURES = Path(__file__).parent / "fixtures"
BETO_FILES = FIXTURES / "beto-cased"
SEED = "El perro que persiguió al gato cruzó la calle."

# No test may reach the network: any attempt fails fast instead of hanging.
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
# One torch thread (here and in the subprocesses, kernels and servers the tests start), set before
# torch is imported: the tests' models are tiny, and on a busy 2-core machine two threads per op
# spend their time waiting for each other (tests/test_corpus.py took 24-37 s instead of 8 s).
# OMP_NUM_THREADS=2 make test overrides it.
os.environ.setdefault("OMP_NUM_THREADS", "1")


def write_tiny_beto(target: Path, hidden_size: int = 48, seed: int = 0) -> Path:
    """A random BertModel with BETO's vocab and 12x12 shape, laid out like the hub repo.

    The folder holds what the hub's dccuchile/bert-base-spanish-wwm-cased has:
    config.json (no model_type, as in BETO's own), vocab.txt and a
    tokenizer_config.json with do_lower_case=false, plus the weights.
    """
    import torch
    from transformers import BertConfig, BertModel

    target.mkdir(parents=True, exist_ok=True)
    config_data = json.loads((BETO_FILES / "config.json").read_text())
    config_data.update(hidden_size=hidden_size, intermediate_size=2 * hidden_size, pad_token_id=1)
    torch.manual_seed(seed)
    model = BertModel(BertConfig(**config_data)).eval()
    model.save_pretrained(target)
    # Keep BETO's own config (no model_type), with the smaller sizes.
    (target / "config.json").write_text(json.dumps(config_data, indent=2))
    shutil.copy(BETO_FILES / "vocab.txt", target / "vocab.txt")
    (target / "tokenizer_config.json").write_text(json.dumps({"do_lower_case": False}))
    return target


#: The tiny models of other families (tests/test_models.py, tests/test_measures.py).
HIDDEN = 32
LAYERS = 2
HEADS = 4
MAX_POSITIONS = 64


def _byte_level_bpe():
    from tokenizers import ByteLevelBPETokenizer

    bpe = ByteLevelBPETokenizer()
    import attnviz

    texts = [*attnviz.load_corpus(), SEED, "The dog that chased the cat crossed the street."]
    bpe.train_from_iterator(
        texts,
        vocab_size=600,
        min_frequency=1,
        special_tokens=["<s>", "<pad>", "</s>", "<unk>", "<mask>", "<|endoftext|>"],
        show_progress=False,
    )
    return bpe


def write_tiny_families(root: Path) -> dict[str, Path]:
    """Tiny random GPT-2, RoBERTa and DistilBERT models with offline tokenizers, saved under ``root``."""
    import torch
    from transformers import (
        DistilBertConfig,
        DistilBertModel,
        GPT2Config,
        GPT2Model,
        GPT2TokenizerFast,
        RobertaConfig,
        RobertaModel,
        RobertaTokenizerFast,
    )

    bpe = _byte_level_bpe()
    vocab = bpe.get_vocab_size()
    torch.manual_seed(0)

    gpt2 = root / "gpt2-tiny"
    eos = bpe.token_to_id("<|endoftext|>")
    GPT2Model(
        GPT2Config(
            vocab_size=vocab,
            n_positions=MAX_POSITIONS,
            n_embd=HIDDEN,
            n_layer=LAYERS,
            n_head=HEADS,
            bos_token_id=eos,
            eos_token_id=eos,
        )
    ).save_pretrained(gpt2)
    special = {"bos_token": "<|endoftext|>", "eos_token": "<|endoftext|>", "unk_token": "<|endoftext|>"}
    GPT2TokenizerFast(tokenizer_object=bpe._tokenizer, **special).save_pretrained(gpt2)

    roberta = root / "roberta-tiny"
    RobertaModel(
        RobertaConfig(
            vocab_size=vocab,
            max_position_embeddings=MAX_POSITIONS + 2,
            hidden_size=HIDDEN,
            num_hidden_layers=LAYERS,
            num_attention_heads=HEADS,
            intermediate_size=2 * HIDDEN,
            pad_token_id=1,
            bos_token_id=0,
            eos_token_id=2,
        )
    ).save_pretrained(roberta)
    # RoBERTa's post-processor adds <s> ... </s> (and </s></s> between a pair).
    from tokenizers.processors import RobertaProcessing

    roberta_bpe = _byte_level_bpe()
    roberta_bpe._tokenizer.post_processor = RobertaProcessing(("</s>", 2), ("<s>", 0))
    RobertaTokenizerFast(
        tokenizer_object=roberta_bpe._tokenizer,
        bos_token="<s>",
        eos_token="</s>",
        sep_token="</s>",
        cls_token="<s>",
        unk_token="<unk>",
        pad_token="<pad>",
        mask_token="<mask>",
    ).save_pretrained(roberta)

    distil = root / "distilbert-tiny"
    DistilBertModel(
        DistilBertConfig(
            vocab_size=31002,
            dim=HIDDEN,
            n_layers=LAYERS,
            n_heads=HEADS,
            hidden_dim=2 * HIDDEN,
            max_position_embeddings=MAX_POSITIONS,
        )
    ).save_pretrained(distil)
    shutil.copy(BETO_FILES / "vocab.txt", distil / "vocab.txt")
    (distil / "tokenizer_config.json").write_text(
        json.dumps({"do_lower_case": False, "tokenizer_class": "DistilBertTokenizer"})
    )
    return {"gpt2": gpt2, "roberta": roberta, "distilbert": distil}  # fmt: skip


@pytest.fixture(scope="session")
def family_dirs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return write_tiny_families(tmp_path_factory.mktemp("models"))


@pytest.fixture(scope="session")
def beto_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # The folder name matters: like the hub id, it says "bert".
    return write_tiny_beto(tmp_path_factory.mktemp("hub") / "bert-base-spanish-wwm-cased")


@pytest.fixture(scope="session")
def beto(beto_dir: Path):
    import attnviz

    return attnviz.load_model(str(beto_dir))


@pytest.fixture(scope="session")
def minilm():
    import attnviz

    return attnviz.load_model("minilm")


@pytest.fixture(scope="session")
def beto_result(beto):
    import attnviz

    model, tokenizer = beto
    return attnviz.extract(model, tokenizer, SEED)


@pytest.fixture(scope="session")
def minilm_result(minilm):
    import attnviz

    model, tokenizer = minilm
    return attnviz.extract(model, tokenizer, "The dog that chased the cat crossed the street.")


@pytest.fixture(autouse=True)
def _fresh_corpus_cache():
    """Each test starts with no corpus run kept from another test."""
    from attnviz.core.corpus import clear_corpus_cache

    clear_corpus_cache()
    yield
    clear_corpus_cache()


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    import matplotlib.pyplot as plt

    plt.close("all")


@pytest.fixture(scope="session")
def beto_mlm(tmp_path_factory):
    """A random BertForMaskedLM of BETO's shape (12 x 12, hidden 48) and BETO's cased vocabulary."""
    import torch
    from transformers import BertConfig, BertForMaskedLM, BertTokenizerFast

    folder = tmp_path_factory.mktemp("beto-mlm")
    (folder / "vocab.txt").write_bytes((BETO_FILES / "vocab.txt").read_bytes())
    (folder / "tokenizer_config.json").write_text(json.dumps({"do_lower_case": False}))
    config = json.loads((BETO_FILES / "config.json").read_text())
    # A wider initialisation than BERT's 0.02: sharper distributions, so each head visibly matters.
    config.update(hidden_size=48, intermediate_size=96, pad_token_id=1, initializer_range=0.2)
    torch.manual_seed(0)
    model = BertForMaskedLM(BertConfig(**config)).eval()
    return model, BertTokenizerFast.from_pretrained(str(folder))


@pytest.fixture
def browser():
    """Headless Debian Chromium (Playwright); skipped without it unless CI demands one."""
    from .jupyter_browser import chromium
    from .test_browser import require_browser

    require_browser()
    with chromium() as instance:
        yield instance
