"""The pipeline's stages: plain callables that know no executor.

Each stage does its expensive set-up (a model load) in ``__init__`` and its work in
``__call__(batch)``; the local executor calls them in-process, a distributed one can map the same
classes onto worker pools.
"""
