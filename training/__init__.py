"""The pieces behind train.py: arguments and recipes (args), training crops and evaluation windows (data), the
Trainer subclass, callbacks and metrics (trainer), run records and the model card (report), Hub upload (hub), and
the tiny CPU checkpoint of the demo (tiny). See the "Training" section of README.md."""
