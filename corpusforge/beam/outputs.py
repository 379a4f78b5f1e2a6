"""An output directory on any Beam filesystem (gs://, s3://, ...), for
:class:`corpusforge.outputs.OutputDirectory`: object stores hold files only, so clearing
removes files one by one and never a prefix (which would take whatever lies below it)."""

from __future__ import annotations

from typing import BinaryIO

from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems

from corpusforge.outputs import ClearPlan, Entry


class BeamStore:
    """Lists, reads and clears through Beam's ``FileSystems``."""

    def entries(self, path: str) -> list[Entry]:
        root = path.rstrip("/") + "/"
        found = FileSystems.match([root + "**"])[0].metadata_list
        return sorted(Entry(m.path[len(root) :]) for m in found if m.path.startswith(root) and len(m.path) > len(root))

    def read(self, path: str) -> bytes | None:
        if not FileSystems.exists(path):
            return None
        with FileSystems.open(path, compression_type=CompressionTypes.UNCOMPRESSED) as f:
            return f.read()

    def clear(self, path: str, plan: ClearPlan) -> None:
        if plan.files:
            FileSystems.delete([FileSystems.join(path, name) for name in plan.files])


def write_atomically(path: str, data: bytes, mime_type: str = "application/octet-stream") -> None:
    """Write ``path`` whole or not at all, on any Beam filesystem: a temp file beside it, then a
    rename (the manifest, completion records, a job's summary or vocabulary file)."""
    temp = f"{path}.tmp"
    stream = FileSystems.create(temp, mime_type, CompressionTypes.UNCOMPRESSED)
    try:
        stream.write(data)
    finally:
        stream.close()
    FileSystems.rename([temp], [path])


def beam_create(path: str) -> BinaryIO:
    """A writable binary file on any Beam filesystem (the report's pages on gs://); the object
    appears when it is closed."""
    return FileSystems.create(path, compression_type=CompressionTypes.UNCOMPRESSED)
