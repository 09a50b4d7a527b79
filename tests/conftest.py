"""Shared test set-up: this file puts ``tests/`` on ``sys.path`` (pytest's default
import mode), so test modules can import ``cli_support``."""
