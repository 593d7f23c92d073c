"""Accuracy as an ``evaluate`` metric module kept in the project, so ``evaluate.load`` works offline.

``evaluate.load("accuracy")`` fetches its script from the Hub (evaluate 0.4.6 ships none); loading this folder by
path needs no network::

    import evaluate
    accuracy = evaluate.load("metrics/accuracy")
    accuracy.compute(predictions=[0, 1, 1], references=[0, 1, 0])   # {"accuracy": 0.666...}
"""

import datasets
import evaluate
from sklearn.metrics import accuracy_score

_DESCRIPTION = "Fraction of predictions equal to the references (sklearn.metrics.accuracy_score)."
_KWARGS_DESCRIPTION = """
Args:
    predictions (list of int): predicted labels.
    references (list of int): true labels.
    normalize (bool): return the fraction (True, default) or the count of correct predictions.
    sample_weight (list of float): per-example weights.
Returns:
    accuracy (float)
"""


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class Accuracy(evaluate.Metric):
    def _info(self):
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation="",
            inputs_description=_KWARGS_DESCRIPTION,
            features=datasets.Features({"predictions": datasets.Value("int32"),
                                        "references": datasets.Value("int32")}),
            reference_urls=["https://scikit-learn.org/stable/modules/generated/sklearn.metrics.accuracy_score.html"],
        )

    def _compute(self, predictions, references, normalize=True, sample_weight=None):
        return {"accuracy": float(accuracy_score(references, predictions, normalize=normalize,
                                                 sample_weight=sample_weight))}
