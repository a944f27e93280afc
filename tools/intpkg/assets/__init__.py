"""Install and uninstall the package's assets into a cluster."""
