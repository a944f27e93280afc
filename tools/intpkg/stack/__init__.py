"""Search-cluster provisioning (local node from Maven Central) and clients (local or external)."""
