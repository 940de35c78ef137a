"""wattwise inside training frameworks: callbacks that measure a fit where it happens.

Each integration is a module of its own behind its own extra, and imports its framework only
when it is imported itself (``import wattwise`` never imports transformers or lightning):

* :mod:`wattwise.integrations.hf` — ``WattwiseCallback`` for the Hugging Face ``Trainer`` (and
  its subclasses, such as TRL's ``SFTTrainer``); ``pip install 'wattwise[hf]'``.
* :mod:`wattwise.integrations.lightning` — ``WattwiseCallback`` for ``lightning.pytorch``;
  ``pip install 'wattwise[lightning]'``.

Both translate their framework's events into one :class:`~.training.TrainingMeter`, which holds
what they share (the run, its windows and counts, live metrics, the forecast, the footprint).
"""
