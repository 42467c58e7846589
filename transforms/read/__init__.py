"""Reading: a report file's bytes → located lines ``(text, source_line)``, under per-file limits.

Nothing here knows the statutory tables' rows or columns beyond the headings and anchors of the
format files: it imports neither transforms.parse nor the engine (tests/test_architecture.py).
"""
