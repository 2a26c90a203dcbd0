"""The intake stage: submissions in as they arrive, repaired where safe."""
