"""Parsing: located lines → the statutory tables' regions, tokens, rows, formats and aligned values.
"""
