"""Getting images into a project: folders, manifests, uploads, URL downloads, foreign datasets."""
