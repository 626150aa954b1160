"""Registers the book's pytest plugin (tfbook/pytest_plugin.py: every page under chapters/ runs through nbmake)."""

pytest_plugins = ["tfbook.pytest_plugin", "pytester"]
