"""The probe stage: the data-only bridge into the live kernel and what a model graph says."""
