"""The model side: loading, extraction, the result, words, metrics, corpus and export (no plotting)."""

#: The package's version, here at the bottom layer so that any layer can read it without importing
#: attnviz/__init__.py (which imports every layer); ``attnviz.__version__`` re-exports it.
__version__ = "0.1.0"
