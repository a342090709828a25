"""Ways of launching an environment: one module per engine."""
