"""The embedded demo model: a procedural shapes dataset, a tiny SD1-layout model, its training and its measurement."""
