"""The package version: one place, read by the package, its manifests and its build."""

__version__ = "0.1.0"
