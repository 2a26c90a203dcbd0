"""The corpus is data for tests/grading/test_adversarial_corpus.py: its graders are graded with, not collected."""

collect_ignore = ["graders", "reference", "submissions", "make.py"]
