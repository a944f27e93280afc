"""The integrations UI: a Fleet-like web app to browse, install, configure and watch the package."""
