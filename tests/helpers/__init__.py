"""Helpers shared by test modules (on ``sys.path`` through pyproject's ``pythonpath = ["tests"]``); no test module
imports another."""
