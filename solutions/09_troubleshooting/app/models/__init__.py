"""The shop's models, one module per table. `migrations/env.py` imports each module it needs."""
