"""The reporting stage: fa/en reports, the class dashboard, gradebook exports."""
