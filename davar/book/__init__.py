"""The gradebook: every result kept with its history, and a TA's manual scores."""
