"""Golden comparisons: outputs against committed data (data/) and hand-checked answer keys."""
