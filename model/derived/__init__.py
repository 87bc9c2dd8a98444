"""The files a bundle derives from its manifest: the model card (README.md) and the rules as one SQL
query (segment_rules.sql). Pure text renderers, used by training when it writes a bundle and by an
edit (`model.editing`) when it rewrites one."""
