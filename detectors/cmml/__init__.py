"""CMML after Ye et al., ICCV 2021: `model`, `loss`, `detector`; notes in NOTES.md. Imports no torch."""
