"""CAE multimodal one-class classifier (Laakom et al., 2023): `model`, `loss`, `detector`; notes in NOTES.md.

Importing this package imports no torch; the registry imports `detector` when it is used.
"""
