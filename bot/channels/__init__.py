"""Channel adapters: each renders the core's replies for one chat platform."""
