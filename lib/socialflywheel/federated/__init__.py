"""federated stage."""
