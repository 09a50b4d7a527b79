"""Verification tools for wfsim: checkers for recorded histories and executions."""
