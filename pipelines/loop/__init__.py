"""The feedback loop: pre-labelling, the model registry, training rounds, the simulated annotator."""
