"""The model registry: versioned models with aliases, tags, signatures and lineage.

``log_model`` stores a model content-addressed, infers its signature from an
input example and registers the next version; ``load_model`` resolves
``models:/name@alias`` or ``models:/name/3``, checks the blob's hash and only
then deserialises it (skops for scikit-learn, pickle only with ``trusted=True``).
"""
