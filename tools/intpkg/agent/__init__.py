"""The agent: package policy -> rendered streams -> input engine -> bulk shipper, with durable state."""
