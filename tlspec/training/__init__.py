"""Stage 3, training: a built model and its data -> a run directory.

``runner`` is the whole run in named steps (open the run, load the data, one
``phases.run_phase`` per phase, evaluate, finish) over a typed ``session``;
``data`` loads what every phase trains on, ``callbacks`` records each epoch,
``records`` types run.json and state.json, ``rundir`` writes them atomically.
``feature_cache``, ``sharing`` and ``adapt`` are the three training techniques
that change what is fitted: cached frozen features, soft parameter sharing,
importance weighting.
"""
