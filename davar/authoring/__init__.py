"""Authoring an assignment: `davar assign` from master notebooks, `davar new`."""
