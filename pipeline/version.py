"""This tool's version (the package re-exports it as ``pipeline.__version__``). Modules that need
it import it from here, so that none imports the package root, whose lazy exports name the upper
layers."""

__version__ = "0.1.0"
