"""The artifact store: content-addressed blobs over fsspec.

Every file is stored once under its SHA-256 digest
(``<root>/blobs/ab/cdef...``), so logging the same bytes twice costs nothing.
Writes go to a temporary name and are renamed into place (local folders) or
uploaded as one object (S3), so a reader never sees half a blob. Reads check
the hash and refuse bytes that changed on disk.
"""

from __future__ import annotations

from ninefold.artifacts.blobstore import ArtifactStore, BlobInfo

__all__ = ["ArtifactStore", "BlobInfo"]
