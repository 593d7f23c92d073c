"""F1 score as an ``evaluate`` metric module kept in the project, so ``evaluate.load`` works offline.

Loaded by path (``evaluate.load("f1")`` would need the Hub)::

    import evaluate
    f1 = evaluate.load("metrics/f1")
    f1.compute(predictions=[0, 1, 2], references=[0, 1, 1], average="macro")   # {"f1": 0.555...}
"""

import datasets
import evaluate
from sklearn.metrics import f1_score

_DESCRIPTION = "F1 = 2 * precision * recall / (precision + recall) (sklearn.metrics.f1_score)."
_KWARGS_DESCRIPTION = """
Args:
    predictions (list of int): predicted labels.
    references (list of int): true labels.
    labels (list of int): the labels to include (default: those present); pass all class ids for macro-F1 over
        every class, present or not.
    average (str): "macro" (default: unweighted mean over classes), "micro", "weighted", "binary" or None.
    sample_weight (list of float): per-example weights.
    zero_division: value for a class with no predictions and no references (default 0).
Returns:
    f1 (float, or a list of floats when average is None)
"""


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class F1(evaluate.Metric):
    def _info(self):
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation="",
            inputs_description=_KWARGS_DESCRIPTION,
            features=datasets.Features({"predictions": datasets.Value("int32"),
                                        "references": datasets.Value("int32")}),
            reference_urls=["https://scikit-learn.org/stable/modules/generated/sklearn.metrics.f1_score.html"],
        )

    def _compute(self, predictions, references, labels=None, average="macro", sample_weight=None, zero_division=0):
        score = f1_score(references, predictions, labels=labels, average=average, sample_weight=sample_weight,
                         zero_division=zero_division)
        return {"f1": score.tolist() if average is None else float(score)}
