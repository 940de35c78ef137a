"""Where training and serving happen: wattwise inside other tools, each behind its own extra.

* :mod:`~wattwise.integrations.hf`: ``WattwiseCallback`` for the Hugging Face ``Trainer`` (and
  its subclasses, such as TRL's ``SFTTrainer``; ``pip install 'wattwise[hf]'``).
* :mod:`~wattwise.integrations.lightning`: ``WattwiseCallback`` for ``lightning.pytorch``
  (``pip install 'wattwise[lightning]'``). Both drive one :class:`~.training.TrainingMeter`.
* :mod:`~wattwise.integrations.distributed`: one job run from every rank and node of a
  ``torch.distributed`` job (``pip install 'wattwise[distributed]'``).
* :mod:`~wattwise.integrations.mlflow`: :class:`~wattwise.integrations.mlflow.MlflowSink`, a run
  sink that logs energy, CO2e, cost and energy per unit (per window too) and the run document to
  MLflow (``pip install 'wattwise[mlflow]'``).
* :mod:`~wattwise.integrations.prometheus`: a ``prometheus_client`` collector of per-device energy
  and power and of a tracked run's counters, served over HTTP or pushed to a Pushgateway
  (``wattwise exporter``; ``pip install 'wattwise[prometheus]'``).

Each integration imports its third-party package itself, only when used: importing this package
imports none of them. The accounting context is taken the usual way
(:mod:`~wattwise.integrations.context`).
"""
