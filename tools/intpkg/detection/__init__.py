"""Detection rules: Sigma sources under `_dev/detection`, converted to Kibana security rules (`authoring`)."""
