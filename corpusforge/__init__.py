"""corpusforge: build multilingual and code-switched corpora with Apache Beam."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("corpusforge")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+unknown"
