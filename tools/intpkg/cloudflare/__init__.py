"""Cloudflare-specific helpers (the input engine itself knows nothing of Cloudflare)."""
