"""Model patch nodes: guidance rules, prediction-type overrides and UNet block patches (model_hooks.py)."""
