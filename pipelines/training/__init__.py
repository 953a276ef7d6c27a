"""GRSer training: config, datasets, sampling, batching, the training loop, evaluation, metrics, synthetic data."""
