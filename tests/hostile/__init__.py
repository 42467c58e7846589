"""Hostile inputs shared by the robustness test and bench/robustness.py."""
