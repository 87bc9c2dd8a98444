"""People own the segments: edits of a bundle's segments (rename, offers, merge, another k of the
evidence table) as pure functions from a bundle to a new one — `spec` (what was asked, checked as
text), `apply` (the new manifest and arrays), `segments`/`combine` (each segment re-derived
honestly), `files` (written as a normal bundle), `diff` (what changed against another bundle).
Shared by `python -m training edit` and the Space's Edit tab; no web library, no scikit-learn."""
