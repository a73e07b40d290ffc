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
from .core.agreement import AgreementExperiment, agreement_experiment, compare_heads, word_attention
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
from .core.importance import HeadImportance, head_importance, importance_to_csv, mean_importance
from .core.knockout import parse_heads, switch_off
from .core.knockout_outcome import Knockout, knock_out
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
from .core.metrics import (
    METRIC_LABELS,
    HeadMetrics,
    head_metrics,
    layer_profile,
    metrics_table,
    sink_summary,
    strongest_head,
)
from .core.position import PositionExperiment, position_experiment
from .core.prediction import (
    Prediction,
    has_masked_lm_head,
    predict_masked,
    predict_next,
    sentence_vector,
    vector_change,
)
from .core.qk_map import QueryKeyMap, query_key_map
from .core.result import AttentionResult
from .core.words import to_words
from .explore.launch import explorer
from .lesson.answers import exercise_answer
from .lesson.checks import check_choice, check_threshold
from .lesson.control_plots import plot_ambiguity_control, plot_pos_control
from .lesson.controls import ambiguity_control, pos_control, position_control, relation_example
from .lesson.exercises import check_distance_metric, uniform_distance
from .lesson.setup import prepare_lesson
from .plots.arcs import plot_arcs
from .plots.compare import WordNotFoundError, find_word, plot_compare, plot_compare_layers
from .plots.graph import plot_graph
from .plots.grid import plot_grid
from .plots.heatmap import plot_heatmap
from .plots.importance import plot_attention_to_word, plot_importance, plot_importance_and_attention
from .plots.prediction import plot_knockout, plot_prediction, plot_vector_change
from .plots.profile import plot_profile
from .plots.qk_map import plot_query_key_map
from .plots.scores import plot_scores
from .plots.style import modo_clase, panels
from .plots.textview import plot_text
from .syntax.answer import held_out_text, null_answer, relation_answer, syntax_answer
from .syntax.heldout import HeldOutTable, held_out_scores
from .syntax.metrics import pos_matrix, relation_scores, relation_table, syntax_profile
from .syntax.parsing import (
    ParserUnavailableError,
    SyntaxAnnotation,
    annotate,
    gold_results,
    gsd_results,
    load_gold,
    load_gsd,
    parse,
)
from .syntax.plots import plot_dependencies, plot_held_out, plot_pos_matrix, plot_syntax_profile

__all__ = [
    "ALIASES",
    "DEFAULT_MODEL",
    "MEASURES",
    "METRIC_LABELS",
    "OFFLINE_ALIAS",
    "AgreementExperiment",
    "AttentionResult",
    "AttnvizError",
    "Explorer",
    "HeadImportance",
    "HeadMetrics",
    "HeldOutTable",
    "IndexOutOfRangeError",
    "InvalidInputTypeError",
    "InvalidModelError",
    "InvalidTextError",
    "Knockout",
    "MeasureUnavailableError",
    "ModelNotFoundError",
    "ModelUnavailableError",
    "NoAttentionError",
    "OfflineFallbackWarning",
    "OutputPathError",
    "ParserUnavailableError",
    "PositionExperiment",
    "Prediction",
    "QueryKeyMap",
    "ScoreSteps",
    "SyntaxAnnotation",
    "TruncationWarning",
    "WordNotFoundError",
    "agreement_experiment",
    "ambiguity_control",
    "annotate",
    "check_choice",
    "check_distance_metric",
    "check_measure",
    "check_threshold",
    "compare_heads",
    "corpus_metrics",
    "corpus_profile",
    "corpus_results",
    "exercise_answer",
    "explorer",
    "extract",
    "filter_segments",
    "find_word",
    "gold_results",
    "gsd_results",
    "has_masked_lm_head",
    "head_importance",
    "head_max",
    "head_mean",
    "head_metrics",
    "held_out_scores",
    "held_out_text",
    "importance_to_csv",
    "knock_out",
    "layer_mean",
    "layer_profile",
    "load_corpus",
    "load_gold",
    "load_gsd",
    "load_model",
    "mean_importance",
    "measure_change",
    "measures_summary",
    "metrics_table",
    "metrics_to_csv",
    "modo_clase",
    "null_answer",
    "offline_model_path",
    "panels",
    "parse",
    "parse_heads",
    "plot_ambiguity_control",
    "plot_arcs",
    "plot_attention_to_word",
    "plot_compare",
    "plot_compare_layers",
    "plot_dependencies",
    "plot_graph",
    "plot_grid",
    "plot_heatmap",
    "plot_held_out",
    "plot_importance",
    "plot_importance_and_attention",
    "plot_knockout",
    "plot_pos_control",
    "plot_pos_matrix",
    "plot_prediction",
    "plot_profile",
    "plot_query_key_map",
    "plot_scores",
    "plot_syntax_profile",
    "plot_text",
    "plot_vector_change",
    "pos_control",
    "pos_matrix",
    "position_control",
    "position_experiment",
    "predict_masked",
    "predict_next",
    "prepare_lesson",
    "query_key_map",
    "relation_answer",
    "relation_example",
    "relation_scores",
    "relation_table",
    "rollout",
    "save_npy",
    "score_steps",
    "sentence_vector",
    "sink_summary",
    "source_rows",
    "sources_matrix",
    "strongest_head",
    "switch_off",
    "syntax_answer",
    "syntax_profile",
    "to_words",
    "uniform_distance",
    "vector_change",
    "weights_to_csv",
    "with_measure",
    "word_attention",
]


def __getattr__(name: str) -> object:
    # The widget class imports ipywidgets (and IPython): only when asked for, never for the CLI.
    if name == "Explorer":
        from .explore.widget import Explorer

        return Explorer
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
