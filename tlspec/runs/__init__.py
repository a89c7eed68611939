"""Stage 4, runs: what is done with a finished run directory (evaluate it, predict with it).

``load`` opens a run and its model the way training left them, ``evaluate``
recomputes metrics on any split, ``predict`` reads new inputs through the run's
data plugin and describes each head's output.
"""
