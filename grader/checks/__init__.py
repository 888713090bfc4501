"""Checks over exported data (`core`), free-text quiz scoring (`quiz`, with `japanese` morphology
and `textnorm` normalisation) and old-API diagnostics (`legacy`).

Checks files import the check classes from here: `from grader.checks import Shape, Calibrated`.
"""
from grader.checks.core import (
    MAX_COMPARED,
    MAX_CURVE,
    MAX_HIDDEN_UNITS,
    MAX_LAYERS,
    MAX_PROBES,
    MAX_SHOWN,
    Calibrated,
    Check,
    CheckContext,
    Close,
    Custom,
    Decreasing,
    DenseChainShapes,
    Differs,
    Diverged,
    Equals,
    Formula,
    ForwardMatches,
    HiddenSizes,
    KerasLayers,
    LayerSpecs,
    NotNumbers,
    PredictionError,
    QuizAnswer,
    Shape,
    TruthTable,
    as_shape,
    dense_chain_accuracy,
    fold_keras_layers,
    mnist_test_inputs,
    prediction_accuracy,
    probe_export,
    softmax_accuracy,
)

__all__ = [
    "MAX_COMPARED", "MAX_CURVE", "MAX_HIDDEN_UNITS", "MAX_LAYERS", "MAX_PROBES", "MAX_SHOWN", "Calibrated", "Check",
    "CheckContext", "Close", "Custom", "Decreasing", "DenseChainShapes", "Differs", "Diverged", "Equals", "Formula",
    "ForwardMatches", "HiddenSizes", "KerasLayers", "LayerSpecs", "NotNumbers", "PredictionError", "QuizAnswer",
    "Shape", "TruthTable", "as_shape", "dense_chain_accuracy", "fold_keras_layers", "mnist_test_inputs",
    "prediction_accuracy", "probe_export", "softmax_accuracy",
]
