"""Screens pushed over the debugger: help and prompts."""
