"""TBNN (Wang et al., TPAMI 2019): `model`, `loss`, `detector`; notes in NOTES.md. Imports no torch."""
