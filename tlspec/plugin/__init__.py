"""The plugin contract and the machinery that finds plugins (TensorFlow-free).

``kinds`` declares the five plugin kinds, ``hookspecs`` the hooks that return
them, ``manager`` loads entry points into a registry. Plugin authors import
``tlspec.api``, which re-exports what they need from here.
"""
