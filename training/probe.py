"""Linear probe, then fine-tune (LP-FT; Kumar et al., ICLR 2022): the model's own head is fitted in closed form on its
frozen encoder before any fine-tuning, so fine-tuning starts from a head that already separates the classes instead
of a random one, which on few data distorts the pretrained features.

The features are what the head itself reads: the model runs its own forward with the head's linear layers replaced
by identities, so pooling (masked mean over frames for wav2vec2/HuBERT/WavLM/Whisper, the [CLS]/distillation tokens
and layer norm for AST) is the model's own. A logistic regression on standardised features is then written into the
head, exactly: for heads with a projector (the pooled projector output feeds the classifier) the projector's first
rows become the principal directions of the standardised features (the rest keep their initial weights, so
fine-tuning can still use them) and the classifier the regression in that basis; without one, the classifier (AST's
``dense``) is the regression. The probe's logits equal the regression's decision function (tested).

Example::

    from training.probe import fit_linear_probe
    head = fit_linear_probe(model, collate, arrays, labels, n_classes=4, seed=0)   # the head is in ``model`` now
    head.train_examples, head.seconds
"""

from __future__ import annotations

import contextlib
import logging
import time
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

logger = logging.getLogger(__name__)

PROBE_C = 0.5          # the logistic regression's inverse regularisation (the probe, on standardised features)


@dataclass
class HeadLayers:
    """The head's linear layers: ``classifier`` reads the pooled output of ``projector`` (when there is one)."""
    projector: nn.Linear | None
    classifier: nn.Linear
    owner: nn.Module          # the module whose ``classifier`` attribute (or ``dense``) is ``classifier``
    attribute: str


def head_layers(model) -> HeadLayers:
    """The linear layers of ``model``'s classification head, by architecture; an error naming the model otherwise."""
    classifier = getattr(model, "classifier", None)
    projector = getattr(model, "projector", None)
    if isinstance(classifier, nn.Linear) and isinstance(projector, nn.Linear):
        return HeadLayers(projector, classifier, model, "classifier")         # wav2vec2, HuBERT, WavLM, Whisper
    if isinstance(classifier, nn.Linear):
        return HeadLayers(None, classifier, model, "classifier")
    if isinstance(getattr(classifier, "dense", None), nn.Linear):
        return HeadLayers(None, classifier.dense, classifier, "dense")        # AST: layer norm, then dense
    raise ValueError(f"--linear_probe: {type(model).__name__} has no linear classification head this probe knows "
                     "(a projector and classifier, a classifier, or AST's dense); train without --linear_probe")


@contextlib.contextmanager
def pooled_features(model):
    """``model``'s forward returns, in place of logits, the features its classifier reads before the projector:
    the head's linear layers are identities inside the block."""
    layers = head_layers(model)
    saved = (getattr(model, "projector", None), getattr(layers.owner, layers.attribute))
    try:
        if layers.projector is not None:
            model.projector = nn.Identity()
        setattr(layers.owner, layers.attribute, nn.Identity())
        yield
    finally:
        if layers.projector is not None:
            model.projector = saved[0]
        setattr(layers.owner, layers.attribute, saved[1])


@torch.no_grad()
def embed(model, collate, arrays, batch_size: int = 8, desc: str = "linear probe: embedding") -> np.ndarray:
    """``(n, hidden)``: the pooled features of each array, batched through ``collate`` (train.py's own collator,
    so the inputs are what training feeds the model)."""
    model.eval()
    device = next(model.parameters()).device
    out, batch = [], []

    def flush():
        inputs = collate([{"samples": samples, "label": 0} for samples in batch])
        inputs.pop("labels", None)
        with pooled_features(model):
            out.append(model(**{k: v.to(device) for k, v in inputs.items()}).logits.float().cpu().numpy())
        batch.clear()

    for samples in tqdm(arrays, desc=desc, unit="clip", leave=False):
        batch.append(samples)
        if len(batch) == batch_size:
            flush()
    if batch:
        flush()
    return np.concatenate(out) if out else np.zeros((0, 0), np.float32)


@dataclass
class ProbeFit:
    train_examples: int
    seconds: float
    train_accuracy: float
    decision: object = None         # features (n, H) -> the regression's logits (n, K), for checking the head



def fit_linear_probe(model, collate, arrays, labels, n_classes: int, seed: int, batch_size: int = 8
                     ) -> ProbeFit:
    """Embed ``arrays`` with ``model``'s frozen encoder, fit a logistic regression on the standardised features and
    write it into ``model``'s head (see the module doc)."""
    from sklearn.decomposition import PCA
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    started = time.perf_counter()
    labels = np.asarray(labels, dtype=np.int64)
    features = embed(model, collate, arrays, batch_size).astype(np.float64)
    if len(features) != len(labels) or len(np.unique(labels)) < 2:
        raise ValueError(f"--linear_probe: {len(features)} training clips of {len(np.unique(labels))} class(es): "
                         "the probe needs clips of at least two classes")
    scaler = StandardScaler().fit(features)
    standard = scaler.transform(features)
    layers = head_layers(model)
    basis = None
    if layers.projector is not None:
        width = min(layers.projector.out_features, standard.shape[0], standard.shape[1])
        basis = PCA(n_components=width, random_state=seed).fit(standard)
        standard = basis.transform(standard)
    regression = LogisticRegression(C=PROBE_C, max_iter=5000, random_state=seed).fit(standard, labels)
    weight, bias = _class_rows(regression, n_classes)                     # (K, d), (K,)
    load_head(layers, scaler, basis, weight, bias)
    accuracy = float((regression.predict(standard) == labels).mean())

    def decision(x):
        z = scaler.transform(np.asarray(x, np.float64))
        return (basis.transform(z) if basis is not None else z) @ weight.T + bias

    fit = ProbeFit(train_examples=len(labels), seconds=round(time.perf_counter() - started, 2),
                   train_accuracy=accuracy, decision=decision)
    logger.info("linear probe: fitted on %d frozen-encoder clips in %.1f s (train accuracy %.3f)", fit.train_examples,
                fit.seconds, accuracy)
    return fit


def _class_rows(regression, n_classes: int) -> tuple[np.ndarray, np.ndarray]:
    """The regression as one weight row and bias per class of the model (sklearn gives one row for two classes;
    classes absent from the training clips get a very low bias)."""
    coef, intercept = regression.coef_, regression.intercept_
    if coef.shape[0] == 1:              # binary: softmax over [-d/2, d/2] is sigmoid(d)
        coef, intercept = np.vstack([-coef / 2, coef / 2]), np.array([-intercept[0] / 2, intercept[0] / 2])
    weight = np.zeros((n_classes, coef.shape[1]))
    bias = np.full(n_classes, -1e4)
    weight[regression.classes_], bias[regression.classes_] = coef, intercept
    return weight, bias


@torch.no_grad()
def load_head(layers: HeadLayers, scaler, basis, weight: np.ndarray, bias: np.ndarray) -> None:
    """Write ``standardise -> (PCA) -> regression`` into the head's linear layers."""
    scale = 1.0 / scaler.scale_                                            # (H,)
    if layers.projector is None:
        w = weight * scale[None, :]                                        # (K, H)
        b = bias - w @ scaler.mean_
        _assign(layers.classifier, w, b)
        return
    components = basis.components_                                         # (k, H) on standardised features
    k = components.shape[0]
    projector = layers.projector
    w_p = projector.weight.detach().cpu().numpy().astype(np.float64)
    b_p = (projector.bias.detach().cpu().numpy().astype(np.float64) if projector.bias is not None
           else np.zeros(projector.out_features))
    w_p[:k] = components * scale[None, :]
    b_p[:k] = -(w_p[:k] @ scaler.mean_) - components @ basis.mean_
    _assign(projector, w_p, b_p)
    w_c = np.zeros((layers.classifier.out_features, layers.classifier.in_features))
    w_c[:, :k] = weight                                                     # the other projector rows start unused
    _assign(layers.classifier, w_c, bias)


def _assign(layer: nn.Linear, weight: np.ndarray, bias: np.ndarray) -> None:
    layer.weight.copy_(torch.as_tensor(weight, dtype=layer.weight.dtype))
    if layer.bias is not None:
        layer.bias.copy_(torch.as_tensor(bias, dtype=layer.bias.dtype))


def head_state(model) -> dict[str, torch.Tensor]:
    """The head's parameters (what the probe set), by name, on the CPU: to restore or save the probe."""
    from training.trainer import is_head_parameter

    return {name: value.detach().cpu().clone() for name, value in model.state_dict().items()
            if is_head_parameter(name)}


def freeze_base_model(model) -> int:
    """Train the head alone: every parameter outside it stops learning; returns how many stay trainable."""
    from training.trainer import is_head_parameter

    trainable = 0
    for name, parameter in model.named_parameters():
        parameter.requires_grad = is_head_parameter(name)
        trainable += parameter.numel() if parameter.requires_grad else 0
    return trainable
