"""One module per rule, or per group of related rules; the registry lists them."""
