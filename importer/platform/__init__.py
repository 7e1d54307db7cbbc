"""The platform: the HTTP contract (one module owns it), the catalogue read from the server,
the journal that makes a write happen once, and the pacer that keeps under the rate limit."""
