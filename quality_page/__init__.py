"""The maintainers' quality report: the summary page (report.py, with its figures and local script)
and GX's Data Docs made safe to open offline (offline.py), built together by build.py. Reads the
published datasets and the gate's stored validations; validates nothing itself."""
