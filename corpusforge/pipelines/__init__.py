"""One module per job; each has ``build(p, cfg)`` (what tests call) and ``main(argv)``.

Importing the jobs registers Beam's filesystems for paths with a scheme (``gs://``, ...), so a
recipe's file checks match them as the run will; the Beam module loads only when one is used.
"""

from corpusforge.io.filesystems import register_filesystem

register_filesystem("corpusforge.beam.read:BEAM_FILESYSTEM")
