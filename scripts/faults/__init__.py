"""The checks of scripts/faulttest, one module each, and the plumbing they share (harness)."""
