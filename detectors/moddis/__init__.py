"""MODDIS (Ji et al., ICDM 2019): `model`, `loss`, `detector`; notes in NOTES.md. Imports no torch."""
