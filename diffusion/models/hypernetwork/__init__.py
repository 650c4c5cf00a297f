"""A1111-style hypernetworks: loading and the attention patch (hypernetwork.py), random files (make_hypernetwork.py)."""
