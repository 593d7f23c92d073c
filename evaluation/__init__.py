"""Evaluation of a fine-tuned audio classifier: clip/video metrics with intervals, baselines, pictures, lab report.

Example::

    from evaluation.pipeline import EvalConfig, evaluate_run
    metrics = evaluate_run(EvalConfig(model="runs/w2v", dataset="demo_out/dataset", out="demo_out/report"))
    print(metrics.video.accuracy, metrics.video.ci.accuracy)          # an EvalRecord (metrics.json)
"""
