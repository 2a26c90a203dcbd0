"""The run stage: the sandbox, papermill with a live kernel, the figures a notebook showed."""
