"""The mock Cloudflare API: account, credentials, datasets and the handlers of Cloudflare's endpoints."""
