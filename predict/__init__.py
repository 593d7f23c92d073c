"""Use a trained model: classify new videos and files (``python -m predict``) and extract time-aligned hidden-state
features (``python -m predict.features``).

Example::

    from predict import PredictConfig, predict_inputs, FeaturesConfig, extract_features
    results = predict_inputs(PredictConfig(model="runs/demo", inputs=["talk.m4a"]))
    print(results[0].label, results[0].timeline[0])
    [features] = extract_features(FeaturesConfig(model="runs/demo", inputs=["talk.m4a"], out="feats", fps=25))
    print(features.explanation)
"""

from predict.classify import InputResult, PredictConfig, predict_inputs
from predict.features import FeatureResult, FeaturesConfig, extract_features

__all__ = ["PredictConfig", "InputResult", "predict_inputs", "FeaturesConfig", "FeatureResult", "extract_features"]
