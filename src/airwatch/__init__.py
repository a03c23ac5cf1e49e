"""AirWatch: air-quality forecasting for EPA monitoring sites, with a C++ data plane."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("airwatch")
except PackageNotFoundError:  # running from a source tree without an install
    __version__ = "0.0.0+unknown"
