"""attnviz: see the attention inside a real Transformer, layer by layer and head by head.

text -> tokens -> attention tensor -> picture::

    import attnviz
    model, tokenizer = attnviz.load_model("beto")
    result = attnviz.extract(model, tokenizer, "El perro que persiguió al gato cruzó la calle.")
    attnviz.plot_arcs(result, layer=3, head=5, source=2)
"""

from .core import __version__ as __version__
from .core.aggregate import (
    filter_segments,
    head_max,
    head_mean,
    layer_mean,
    rollout,
    source_rows,
    sources_matrix,
)
from .core.corpus import corpus_metrics, corpus_profile, corpus_results, load_corpus
from .core.errors import (
    AttnvizError,
    IndexOutOfRangeError,
    InvalidInputTypeError,
    InvalidModelError,
    InvalidTextError,
    MeasureUnavailableError,
    ModelNotFoundError,
    ModelUnavailableError,
    NoAttentionError,
    OfflineFallbackWarning,
    OutputPathError,
    TruncationWarning,
)
from .core.export import metrics_to_csv, save_npy, weights_to_csv
from .core.extraction import extract
from .core.loading import ALIASES, DEFAULT_MODEL, OFFLINE_ALIAS, load_model, offline_model_path
from .core.measures import (
    MEASURES,
    ScoreSteps,
    check_measure,
    measure_change,
    measures_summary,
    score_steps,
    with_measure,
)
from .core.metrics import METRIC_LABELS, HeadMetrics, head_metrics, layer_profile, metrics_table
from .core.qk_map import QueryKeyMap, query_key_map
from .core.result import AttentionResult
from .core.words import to_words
from .explore.launch import explorer
from .lesson.exercises import check_distance_metric, uniform_distance
from .lesson.setup import prepare_lesson
from .plots.arcs import plot_arcs
from .plots.compare import WordNotFoundError, find_word, plot_compare, plot_compare_layers
from .plots.graph import plot_graph
from .plots.grid import plot_grid
from .plots.heatmap import plot_heatmap
from .plots.profile import plot_profile
from .plots.qk_map import plot_query_key_map
from .plots.scores import plot_scores
from .plots.textview import plot_text
from .syntax.metrics import pos_matrix, relation_scores, relation_table, syntax_profile
from .syntax.parsing import ParserUnavailableError, SyntaxAnnotation, annotate, parse
from .syntax.plots import plot_dependencies, plot_pos_matrix, plot_syntax_profile

__all__ = [
    "ALIASES",
    "DEFAULT_MODEL",
    "MEASURES",
    "METRIC_LABELS",
    "OFFLINE_ALIAS",
    "AttentionResult",
    "AttnvizError",
    "Explorer",
    "HeadMetrics",
    "IndexOutOfRangeError",
    "InvalidInputTypeError",
    "InvalidModelError",
    "InvalidTextError",
    "MeasureUnavailableError",
    "ModelNotFoundError",
    "ModelUnavailableError",
    "NoAttentionError",
    "OfflineFallbackWarning",
    "OutputPathError",
    "ParserUnavailableError",
    "QueryKeyMap",
    "ScoreSteps",
    "SyntaxAnnotation",
    "TruncationWarning",
    "WordNotFoundError",
    "annotate",
    "check_distance_metric",
    "check_measure",
    "corpus_metrics",
    "corpus_profile",
    "corpus_results",
    "explorer",
    "extract",
    "filter_segments",
    "find_word",
    "head_max",
    "head_mean",
    "head_metrics",
    "layer_mean",
    "layer_profile",
    "load_corpus",
    "load_model",
    "measure_change",
    "measures_summary",
    "metrics_table",
    "metrics_to_csv",
    "offline_model_path",
    "parse",
    "plot_arcs",
    "plot_compare",
    "plot_compare_layers",
    "plot_dependencies",
    "plot_graph",
    "plot_grid",
    "plot_heatmap",
    "plot_pos_matrix",
    "plot_profile",
    "plot_query_key_map",
    "plot_scores",
    "plot_syntax_profile",
    "plot_text",
    "pos_matrix",
    "prepare_lesson",
    "query_key_map",
    "relation_scores",
    "relation_table",
    "rollout",
    "save_npy",
    "score_steps",
    "source_rows",
    "sources_matrix",
    "syntax_profile",
    "to_words",
    "uniform_distance",
    "weights_to_csv",
    "with_measure",
]


def __getattr__(name: str) -> object:
    # The widget class imports ipywidgets (and IPython): only when asked for, never for the CLI.
    if name == "Explorer":
        from .explore.widget import Explorer

        return Explorer
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
