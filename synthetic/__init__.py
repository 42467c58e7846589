"""Test and benchmark fixtures: synthetic reports (generator), their DOCX/PDF renderings
(render_docs) and synthetic tidy frames (frames). Not part of the installed pipeline."""
