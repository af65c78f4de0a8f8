"""TN-BCL (Peng et al., 2024): `model` (network), `loss` (bi-quintuple loss), `detector`; notes in NOTES.md.

Importing this package imports no torch; the registry imports `detector` when TN-BCL is used.
"""
