"""Stage 5, the ``tlspec`` command line: one module per command, each owning its options.

``main`` builds the parser from ``COMMANDS`` and turns every error a user can
fix into its exit code (2 for spec problems, each on its own located line; 1
for the rest) without a traceback. Commands call the Python API in ``tlspec``.
"""

from tlspec.cli.main import main

__all__ = ["main"]
