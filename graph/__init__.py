"""Graph engine: workflow documents, validation, planning, signatures, cache, executor. Pure Python, no torch."""
