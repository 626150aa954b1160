"""Support code of the book. One module per concern; each imports only those above it:

devices       the accelerator flag (which `requires-<thing>` cells run) and device detection
exercises     the exercises' checks, added to every page that has a 练习 section
chinese       Chinese typography: wrapped source lines joined where the reader would see a space
pages         the book's configuration, its pages in _toc.yml order, a page read as MyST-NB reads it
colab         the Colab notebook of a page (python -m tfbook.colab OUTDIR)
downloads     every page's notebook and their zip, in the built site
pdf           the built book as one PDF, printed by Chromium (make pdf)
links         the external links of the built book, and which are broken (the weekly link check)
sphinx_ext    the Sphinx extension of the book build (_config.yml)
pytest_plugin the page runner of the tests (conftest.py registers it)
"""
