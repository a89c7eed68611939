"""tlspec's first-party plugins.

Each module is registered under the ``tlspec`` entry-point group in tlspec's
``pyproject.toml`` exactly as a third-party plugin would be, so a broken or
missing optional dependency disables one module, not the tool.
"""
