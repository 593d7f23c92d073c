"""Accuracy and macro-F1 as an ``evaluate`` metric module kept in the project, so ``evaluate.load`` works offline.

The numbers come from ``common.metrics.scores_from_confusion``, the one implementation that eval.py's report and its
bootstrap intervals use too. Loading by path needs no network::

    import evaluate
    metric = evaluate.load("metrics/classification")
    metric.compute(predictions=[0, 1, 1], references=[0, 1, 0], num_classes=2)
    # {"accuracy": 0.666..., "macro_f1": 0.666...}
"""

import datasets
import evaluate

from common.metrics import confusion_matrix, scores_from_confusion

_DESCRIPTION = ("Accuracy and macro-F1 (mean over all classes of 2TP / (2TP + FP + FN), 0 for a class neither present "
                "nor predicted, as scikit-learn's f1_score(average='macro', zero_division=0)).")
_KWARGS_DESCRIPTION = """
Args:
    predictions (list of int): predicted labels.
    references (list of int): true labels.
    num_classes (int): the number of classes K (macro-F1 averages over all K); default: 1 + the largest label seen.
Returns:
    accuracy (float), macro_f1 (float)
"""


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class Classification(evaluate.Metric):
    def _info(self):
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation="",
            inputs_description=_KWARGS_DESCRIPTION,
            features=datasets.Features({"predictions": datasets.Value("int64"),
                                        "references": datasets.Value("int64")}),
        )

    def _compute(self, predictions, references, num_classes=None):
        if num_classes is None:
            num_classes = 1 + max(max(predictions, default=0), max(references, default=0))
        scores = scores_from_confusion(confusion_matrix(references, predictions, num_classes))
        return {"accuracy": float(scores["accuracy"]), "macro_f1": float(scores["macro_f1"])}
