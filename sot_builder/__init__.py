"""sotb: scaffold and lint Markdown Source of Truth registries."""

__version__ = "0.1.0"
