"""Click models: SAM-family weights on disk, building the active segmenter, the embedding cache."""
