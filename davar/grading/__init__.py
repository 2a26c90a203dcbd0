"""The grading stage: the pytest plugin, one submission, the answer-key audit, the batch."""
