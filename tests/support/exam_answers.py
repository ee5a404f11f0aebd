"""A prepared candidate's answers (shared with the demo and the benchmark)."""
from shared.ops.candidate import correct_answers  # noqa: F401
