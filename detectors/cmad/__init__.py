"""CMAD (Li et al., IJCNN 2019), rebuilt from a secondary description: `model`, `loss`, `detector`; NOTES.md."""
