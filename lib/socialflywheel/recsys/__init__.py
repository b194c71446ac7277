"""recsys stage."""
